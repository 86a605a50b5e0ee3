import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ACTIVITY_HANDLINGS, TURN_COVERAGES, type LiveOptions } from './live-config.ts';

/**
 * PromptKit's PromptPack format: a JSON file of named prompts with a system template,
 * typed variables, generation parameters and tool declarations (JSON Schema).
 */
const Variable = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are identifiers'),
  type: z.enum(['string', 'number', 'boolean', 'integer']).default('string'),
  required: z.boolean().default(false),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  description: z.string().optional(),
});

const Tool = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/),
  description: z.string().min(1),
  parameters: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
  /** NON_BLOCKING: the model keeps talking while the call runs (the model's own default when unset). */
  behavior: z.enum(['BLOCKING', 'NON_BLOCKING']).optional(),
  /** When the model uses a NON_BLOCKING call's result: at once, when idle, or silently. */
  scheduling: z.enum(['INTERRUPT', 'WHEN_IDLE', 'SILENT']).optional(),
}).strict();

/**
 * Live API settings of a prompt (flags override each). What is unset is not sent, so the
 * model keeps its own default; a combination the model rejects is refused before connecting.
 */
const Live = z.object({
  activity_handling: z.enum(ACTIVITY_HANDLINGS).optional(),
  turn_coverage: z.enum(TURN_COVERAGES).optional(),
  thinking_budget: z.number().int().min(-1, 'thinking_budget is a number of tokens, 0 (off) or -1 (the model decides)').optional(),
  include_thoughts: z.boolean().optional(),
  proactive_audio: z.boolean().optional(),
  affective_dialog: z.boolean().optional(),
  language_code: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP-47 language code such as en-US').optional(),
  compression_trigger_tokens: z.number().int().positive().optional(),
  compression_target_tokens: z.number().int().positive().optional(),
  google_search: z.boolean().optional(),
}).strict().refine(
  (l) => l.compression_target_tokens === undefined || l.compression_trigger_tokens === undefined || l.compression_target_tokens < l.compression_trigger_tokens,
  { message: 'compression_target_tokens must be below compression_trigger_tokens', path: ['compression_target_tokens'] },
);

const Parameters = z.object({
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().positive().optional(),
}).strict();

const Prompt = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().optional(),
  system_template: z.string().min(1),
  variables: z.array(Variable).default([]),
  parameters: Parameters.optional(),
  /** Tool names (declared at pack level) or full declarations. */
  tools: z.array(z.union([z.string(), Tool])).default([]),
  model: z.string().optional(),
  voice: z.string().optional(),
  live: Live.optional(),
});

export const PromptPackSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().optional(),
  template_engine: z.object({ version: z.string(), syntax: z.literal('{{variable}}') }),
  prompts: z.record(z.string(), Prompt).refine((p) => Object.keys(p).length > 0, 'a pack needs at least one prompt'),
  tools: z.array(Tool).default([]),
});

export type PromptPack = z.infer<typeof PromptPackSchema>;
export type ToolDeclaration = z.infer<typeof Tool>;

export class PromptPackError extends Error {
  override name = 'PromptPackError' as const;
  /** JSON path of the bad field, e.g. `prompts.voice.system_template`. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path ? `${path}: ` : ''}${message}`, options);
    this.path = path;
  }
}

export interface RenderedPrompt {
  packId: string;
  promptId: string;
  systemInstruction: string;
  model: string | undefined;
  voice: string | undefined;
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
  topK?: number;
  tools: ToolDeclaration[];
  /** The prompt's Live settings (only those it sets). */
  live: Partial<LiveOptions>;
}

/** The pack's snake_case `live` object as `LiveOptions` fields, leaving out what it does not set. */
function liveOptionsOf(live: z.infer<typeof Live> | undefined): Partial<LiveOptions> {
  if (!live) return {};
  const out: Partial<LiveOptions> = {
    activityHandling: live.activity_handling,
    turnCoverage: live.turn_coverage,
    thinkingBudget: live.thinking_budget,
    includeThoughts: live.include_thoughts,
    proactiveAudio: live.proactive_audio,
    affectiveDialog: live.affective_dialog,
    languageCode: live.language_code,
    compressionTriggerTokens: live.compression_trigger_tokens,
    compressionTargetTokens: live.compression_target_tokens,
    googleSearch: live.google_search,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export function parsePromptPack(json: unknown, source = 'pack'): PromptPack {
  const parsed = PromptPackSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw new PromptPackError(path, `${issue.message} (in ${source})`, { cause: parsed.error });
  }
  return parsed.data;
}

export async function loadPromptPack(file: string): Promise<PromptPack> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new PromptPackError('', `cannot read prompt pack ${file}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PromptPackError('', `${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parsePromptPack(json, file);
}

/** Renders one prompt: `{{var}}` from `values`, else the variable's default; unknown or missing required ones are errors. */
export function renderPrompt(pack: PromptPack, promptName: string, values: Record<string, string>): RenderedPrompt {
  const prompt = pack.prompts[promptName];
  if (!prompt) throw new PromptPackError(`prompts.${promptName}`, `no prompt named ${JSON.stringify(promptName)} (have: ${Object.keys(pack.prompts).join(', ')})`);
  const base = `prompts.${promptName}`;
  const declared = new Map(prompt.variables.map((v, i) => [v.name, { v, i }]));
  const resolved: Record<string, string> = {};
  for (const [name, { v, i }] of declared) {
    const value = values[name] ?? (v.default !== undefined ? String(v.default) : undefined);
    if (value === undefined) {
      if (v.required) throw new PromptPackError(`${base}.variables.${i}`, `required variable ${JSON.stringify(name)} has no value (pass --var ${name}=... or PACK_VAR_${name.toUpperCase()})`);
      continue;
    }
    if ((v.type === 'number' || v.type === 'integer') && !Number.isFinite(Number(value))) {
      throw new PromptPackError(`${base}.variables.${i}`, `variable ${JSON.stringify(name)} must be a ${v.type}, got ${JSON.stringify(value)}`);
    }
    if (v.type === 'boolean' && !['true', 'false'].includes(value)) {
      throw new PromptPackError(`${base}.variables.${i}`, `variable ${JSON.stringify(name)} must be true or false, got ${JSON.stringify(value)}`);
    }
    resolved[name] = value;
  }
  const systemInstruction = prompt.system_template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    if (!declared.has(name)) throw new PromptPackError(`${base}.system_template`, `uses {{${name}}}, which is not a declared variable`);
    const value = resolved[name];
    if (value === undefined) throw new PromptPackError(`${base}.system_template`, `variable ${JSON.stringify(name)} has no value and no default`);
    return value;
  });
  const tools = prompt.tools.map((t, i) => {
    if (typeof t !== 'string') return t;
    const found = pack.tools.find((d) => d.name === t);
    if (!found) throw new PromptPackError(`${base}.tools.${i}`, `tool ${JSON.stringify(t)} is not declared in the pack's tools`);
    return found;
  });
  const p = prompt.parameters ?? {};
  return {
    packId: pack.id,
    promptId: prompt.id,
    systemInstruction,
    model: prompt.model,
    voice: prompt.voice,
    ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
    ...(p.max_tokens !== undefined ? { maxOutputTokens: p.max_tokens } : {}),
    ...(p.top_p !== undefined ? { topP: p.top_p } : {}),
    ...(p.top_k !== undefined ? { topK: p.top_k } : {}),
    tools,
    live: liveOptionsOf(prompt.live),
  };
}

/** `--var a=b` flags and `PACK_VAR_A=b` environment variables, flags winning. */
export function packValues(flags: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('PACK_VAR_') && v !== undefined) out[k.slice(9).toLowerCase()] = v;
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new PromptPackError('', `--var ${JSON.stringify(f)}: expected name=value`);
    out[f.slice(0, eq)] = f.slice(eq + 1);
  }
  return out;
}
