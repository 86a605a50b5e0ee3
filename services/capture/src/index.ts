// The public face of @voicebus/capture: the service's declaration (settings included) and the
// device that turns a source into chunks.
export { CAPTURE_SERVICE, runCaptureService } from './capture-service.ts';
export { CAPTURE_FLAGS, type CaptureFlags } from './capture-flags.ts';
export { CaptureDevice, CAPTURE_DEVICE_DEFAULTS, type CaptureDeviceOptions } from './capture-device.ts';
export { sourceFromSpec, type AudioSource } from './sources.ts';
