import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPromptPack, packValues, parsePromptPack, PromptPackError, renderPrompt } from './prompt-pack.ts';

const shipped = join(import.meta.dirname, '..', 'assistant.pack.json');

function pack(overrides: Record<string, unknown> = {}, prompt: Record<string, unknown> = {}) {
  return {
    id: 'p', name: 'P', version: '1', template_engine: { version: 'v1', syntax: '{{variable}}' },
    prompts: { voice: { id: 'voice', name: 'Voice', version: '1', system_template: 'You are {{name}} speaking {{lang}}.', variables: [
      { name: 'name', type: 'string', required: true },
      { name: 'lang', type: 'string', default: 'English' },
    ], ...prompt } },
    tools: [{ name: 'get_current_time', description: 'time', parameters: { type: 'object', properties: {} } }],
    ...overrides,
  };
}

function errorOf(fn: () => unknown): PromptPackError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PromptPackError);
    return err as PromptPackError;
  }
  throw new Error('expected a PromptPackError');
}

describe('PromptPack', () => {
  it('loads the shipped example pack and renders its voice prompt with defaults', async () => {
    const p = await loadPromptPack(shipped);
    const r = renderPrompt(p, 'voice', {});
    expect(r.systemInstruction).toContain('You are Nova');
    expect(r.systemInstruction).not.toContain('{{');
    expect(r.tools.map((t) => t.name)).toEqual(['get_current_time']);
    expect(r.temperature).toBe(0.7);
    expect(r.maxOutputTokens).toBe(512);
    // The shipped pack sets no Live setting: the model's defaults, as before.
    expect(r.live).toEqual({});
  });

  it('reads a prompt\'s Live settings (only those it sets) and tools\' behavior and scheduling', () => {
    const r = renderPrompt(parsePromptPack(pack({
      tools: [{ name: 'lookup', description: 'look up', behavior: 'NON_BLOCKING', scheduling: 'WHEN_IDLE' }],
    }, {
      tools: ['lookup'],
      live: { activity_handling: 'NO_INTERRUPTION', turn_coverage: 'TURN_INCLUDES_ALL_INPUT', thinking_budget: -1, include_thoughts: false, proactive_audio: true, affective_dialog: false, language_code: 'en-GB', compression_trigger_tokens: 80000, compression_target_tokens: 40000, google_search: true },
    })), 'voice', { name: 'x' });
    expect(r.live).toEqual({
      activityHandling: 'NO_INTERRUPTION', turnCoverage: 'TURN_INCLUDES_ALL_INPUT', thinkingBudget: -1, includeThoughts: false, proactiveAudio: true, affectiveDialog: false,
      languageCode: 'en-GB', compressionTriggerTokens: 80000, compressionTargetTokens: 40000, googleSearch: true,
    });
    expect(r.tools).toEqual([{ name: 'lookup', description: 'look up', parameters: { type: 'object', properties: {} }, behavior: 'NON_BLOCKING', scheduling: 'WHEN_IDLE' }]);
    expect(renderPrompt(parsePromptPack(pack({}, { live: { google_search: true } })), 'voice', { name: 'x' }).live).toEqual({ googleSearch: true });
  });

  it('substitutes values from flags over env over defaults', () => {
    const values = packValues(['name=Ada'], { PACK_VAR_NAME: 'Env', PACK_VAR_LANG: 'French' });
    expect(renderPrompt(parsePromptPack(pack()), 'voice', values).systemInstruction).toBe('You are Ada speaking French.');
  });

  it('names the missing required variable', () => {
    const err = errorOf(() => renderPrompt(parsePromptPack(pack()), 'voice', {}));
    expect(err.path).toBe('prompts.voice.variables.0');
    expect(err.message).toContain('"name"');
  });

  it.each([
    ['a missing id', pack({ id: undefined }), 'id'],
    ['a wrong template syntax', pack({ template_engine: { version: 'v1', syntax: '${var}' } }), 'template_engine.syntax'],
    ['an empty system template', pack({}, { system_template: '' }), 'prompts.voice.system_template'],
    ['a bad variable type', pack({}, { variables: [{ name: 'x', type: 'date' }] }), 'prompts.voice.variables.0.type'],
    ['a bad temperature', pack({}, { parameters: { temperature: 7 } }), 'prompts.voice.parameters.temperature'],
    ['an unknown parameter', pack({}, { parameters: { temprature: 0.2 } }), 'prompts.voice.parameters'],
    ['a tool without description', pack({ tools: [{ name: 't' }] }), 'tools.0.description'],
    ['a bad tool behavior', pack({ tools: [{ name: 't', description: 'd', behavior: 'ASYNC' }] }), 'tools.0.behavior'],
    ['a bad tool scheduling', pack({ tools: [{ name: 't', description: 'd', scheduling: 'LATER' }] }), 'tools.0.scheduling'],
    ['a misspelt tool field', pack({ tools: [{ name: 't', description: 'd', behaviour: 'NON_BLOCKING' }] }), 'tools.0'],
    ['a bad activity handling', pack({}, { live: { activity_handling: 'NEVER' } }), 'prompts.voice.live.activity_handling'],
    ['a bad turn coverage', pack({}, { live: { turn_coverage: 'ALL' } }), 'prompts.voice.live.turn_coverage'],
    ['a negative thinking budget', pack({}, { live: { thinking_budget: -5 } }), 'prompts.voice.live.thinking_budget'],
    ['a fractional thinking budget', pack({}, { live: { thinking_budget: 1.5 } }), 'prompts.voice.live.thinking_budget'],
    ['a switch that is not a boolean', pack({}, { live: { proactive_audio: 'yes' } }), 'prompts.voice.live.proactive_audio'],
    ['a bad language code', pack({}, { live: { language_code: 'English' } }), 'prompts.voice.live.language_code'],
    ['zero trigger tokens', pack({}, { live: { compression_trigger_tokens: 0 } }), 'prompts.voice.live.compression_trigger_tokens'],
    ['a target not below the trigger', pack({}, { live: { compression_trigger_tokens: 1000, compression_target_tokens: 1000 } }), 'prompts.voice.live.compression_target_tokens'],
    ['an unknown Live setting', pack({}, { live: { barge_in: false } }), 'prompts.voice.live'],
  ])('reports %s with the field path', (_what, bad, path) => {
    expect(errorOf(() => parsePromptPack(bad)).path).toBe(path);
  });

  it('rejects a template using an undeclared variable, and an undeclared tool', () => {
    expect(errorOf(() => renderPrompt(parsePromptPack(pack({}, { system_template: 'Hi {{who}}' })), 'voice', { name: 'x' })).path).toBe('prompts.voice.system_template');
    expect(errorOf(() => renderPrompt(parsePromptPack(pack({}, { tools: ['launch_rockets'] })), 'voice', { name: 'x' })).path).toBe('prompts.voice.tools.0');
    expect(errorOf(() => renderPrompt(parsePromptPack(pack()), 'text', {})).path).toBe('prompts.text');
  });

  it('reports unreadable and non-JSON files clearly', async () => {
    await expect(loadPromptPack('/nonexistent.pack.json')).rejects.toThrow(/cannot read prompt pack/);
    await expect(loadPromptPack(import.meta.filename)).rejects.toThrow(/not valid JSON/);
  });
});
