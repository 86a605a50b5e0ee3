/**
 * Child process for the telemetry tests: starts the runtime's telemetry exactly as a service
 * does (environment only), emits one span and one metric, and shuts down (which flushes).
 */
import { startTelemetry } from '@voicebus/runtime/internal';

const telemetry = await startTelemetry({ serviceName: 'emit-test', instanceId: 'e1' });
const span = telemetry.tracer.startSpan('test span', { attributes: { 'voicebus.device.id': 'dev1' } });
span.end();
telemetry.metrics.voiceToVoice.record(123);
await telemetry.shutdown();
console.log(JSON.stringify({ exporting: telemetry.exporting }));
