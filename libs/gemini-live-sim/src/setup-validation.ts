import { CLOSE_CODES, SimProtocolError } from './protocol-errors.ts';

/**
 * The service parses `setup` as a protobuf message: a field it does not know is an error
 * (close 1007 "Invalid JSON payload received. Unknown name ..."), and so is an enum value it
 * does not know. The field lists follow BidiGenerateContentSetup and the messages under it
 * (Live API WebSockets API reference; @google/genai LiveClientSetup). Messages the simulator
 * does not model in detail (tools, speechConfig, systemInstruction) are accepted as they come.
 */
type Schema = { fields: Record<string, Schema | 'any' | readonly string[]> };

const ANY = 'any' as const;
const transcription: Schema = { fields: { languageCodes: ANY } };
const SETUP: Schema = {
  fields: {
    model: ANY,
    generationConfig: {
      fields: {
        candidateCount: ANY, maxOutputTokens: ANY, temperature: ANY, topP: ANY, topK: ANY, presencePenalty: ANY, frequencyPenalty: ANY,
        responseModalities: ANY, speechConfig: ANY, mediaResolution: ANY, seed: ANY, thinkingConfig: ANY, enableAffectiveDialog: ANY,
      },
    },
    systemInstruction: ANY,
    tools: ANY,
    realtimeInputConfig: {
      fields: {
        automaticActivityDetection: {
          fields: {
            disabled: ANY,
            startOfSpeechSensitivity: ['START_SENSITIVITY_UNSPECIFIED', 'START_SENSITIVITY_HIGH', 'START_SENSITIVITY_LOW'],
            endOfSpeechSensitivity: ['END_SENSITIVITY_UNSPECIFIED', 'END_SENSITIVITY_HIGH', 'END_SENSITIVITY_LOW'],
            prefixPaddingMs: ANY,
            silenceDurationMs: ANY,
          },
        },
        activityHandling: ['ACTIVITY_HANDLING_UNSPECIFIED', 'START_OF_ACTIVITY_INTERRUPTS', 'NO_INTERRUPTION'],
        turnCoverage: ['TURN_COVERAGE_UNSPECIFIED', 'TURN_INCLUDES_ONLY_ACTIVITY', 'TURN_INCLUDES_ALL_INPUT'],
      },
    },
    sessionResumption: { fields: { handle: ANY, transparent: ANY } },
    contextWindowCompression: { fields: { triggerTokens: ANY, slidingWindow: { fields: { targetTokens: ANY } } } },
    inputAudioTranscription: transcription,
    outputAudioTranscription: transcription,
    proactivity: { fields: { proactiveAudio: ANY } },
  },
};

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Throws a 1007 SimProtocolError naming the first unknown field or enum value. */
export function validateSetupFields(setup: Record<string, unknown>): void {
  walk(setup, SETUP, 'setup');
}

function walk(value: unknown, schema: Schema, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SimProtocolError(CLOSE_CODES.invalidPayload, `Invalid JSON payload received. Invalid value at '${path}': expected an object.`);
  }
  for (const [key, child] of Object.entries(value)) {
    const rule = schema.fields[key];
    if (rule === undefined) {
      throw new SimProtocolError(CLOSE_CODES.invalidPayload, `Invalid JSON payload received. Unknown name "${key}" at '${path}': Cannot find field.`);
    }
    const childPath = `${path}.${snake(key)}`;
    if (rule === ANY || child === undefined || child === null) continue;
    if (Array.isArray(rule)) {
      if (!rule.includes(String(child))) throw new SimProtocolError(CLOSE_CODES.invalidPayload, `Invalid value at '${childPath}', "${String(child)}"`);
    } else walk(child, rule as Schema, childPath);
  }
}

/** Live models are named for it (`...-live-...`, `...native-audio...`); others cannot do bidiGenerateContent. */
export function isLiveModel(model: string): boolean {
  return /live|native-audio/i.test(model);
}

export function modelNotSupported(model: string, apiVersion: string): SimProtocolError {
  return new SimProtocolError(CLOSE_CODES.policy, `${model} is not found for API version ${apiVersion}, or is not supported for bidiGenerateContent.`);
}
