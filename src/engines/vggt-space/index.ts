import type { Engine, EngineCheck } from '../engine.ts';
import { messageOf, networkCode } from './errors.ts';
import { DEMO_ENDPOINT, runVggtSpace, UPLOAD_ENDPOINT, type VggtSpaceOptions } from './run.ts';
import { type VggtSpaceSettings, vggtSpaceSettings } from './settings.ts';

export { type VggtSpaceSettings, vggtSpaceSettings } from './settings.ts';

export const DEFAULT_SPACE = 'facebook/vggt';
const SPACE_ID = /^[\w.-]+\/[\w.-]+$/;
const CHECK_TTL_MS = 60_000;
const CHECK_TIMEOUT_MS = 8000;

export interface VggtSpaceEngineOptions extends Partial<VggtSpaceOptions> {
  /** Where Space ids are looked up (tests point it elsewhere). */
  hubUrl?: string;
}

export function createVggtSpaceEngine(options: VggtSpaceEngineOptions = {}): Engine<VggtSpaceSettings> {
  const resolved: VggtSpaceOptions = {
    space: options.space ?? DEFAULT_SPACE,
    token: options.token,
    maxQuotaWaitMs: options.maxQuotaWaitMs ?? 3600_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 15 * 60_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5 * 60_000,
    wakeTimeoutMs: options.wakeTimeoutMs ?? 5 * 60_000,
    downloadTimeoutMs: options.downloadTimeoutMs ?? 10 * 60_000,
  };
  const hubUrl = options.hubUrl ?? 'https://huggingface.co';
  let cached: { at: number; check: Promise<EngineCheck> } | undefined;
  return {
    id: 'vggt-space',
    title: 'VGGT on a Hugging Face Space',
    description: `Meta's VGGT (feed-forward cameras, depth and point maps from a few to ~100 photos) run remotely on the Gradio Space ${resolved.space}. Needs network access; a Hugging Face token (HF_TOKEN) gives your account's GPU quota.`,
    settings: vggtSpaceSettings,
    limits: { minImages: 1, maxImages: 200 },
    produces: ['glb', 'predictions'],
    check() {
      if (!cached || Date.now() - cached.at > CHECK_TTL_MS) cached = { at: Date.now(), check: checkSpace(resolved, hubUrl) };
      return cached.check;
    },
    run(ctx) {
      return runVggtSpace(ctx, resolved);
    },
  };
}

/** Cheap: the Hub's record for a Space id (never wakes it), or the config of a Gradio URL. */
async function checkSpace(options: VggtSpaceOptions, hubUrl: string): Promise<EngineCheck> {
  const { space, token } = options;
  const isId = SPACE_ID.test(space);
  const url = isId ? `${hubUrl}/api/spaces/${space}` : `${space.replace(/\/$/, '')}/config`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    });
  } catch (error) {
    const code = networkCode(error);
    const why = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve (no network?)' : `${code ?? 'error'}: ${messageOf(error)}`;
    return { ok: false, reason: `cannot reach ${new URL(url).host}: ${why}` };
  }
  if (response.status === 401 || response.status === 403) {
    return { ok: false, reason: token ? `HF_TOKEN was refused by ${space} (HTTP ${response.status})` : `${space} needs a Hugging Face token: set HF_TOKEN` };
  }
  if (response.status === 404) return { ok: false, reason: isId ? `the Space ${space} does not exist` : `${space} is not a Gradio app (no /config)` };
  if (!response.ok) return { ok: false, reason: `${space} answered HTTP ${response.status}` };
  const body = (await response.json().catch(() => ({}))) as {
    runtime?: { stage?: string };
    dependencies?: { api_name?: string | false | null }[];
  };
  if (isId) {
    const stage = body.runtime?.stage;
    if (stage === 'PAUSED') return { ok: false, reason: `the Space ${space} is paused by its author` };
    if (stage && /ERROR/.test(stage)) return { ok: false, reason: `the Space ${space} is broken (${stage})` };
    return { ok: true, ...(stage && stage !== 'RUNNING' && { reason: `the Space is ${stage.toLowerCase()}; the first run wakes it` }) };
  }
  const names = (body.dependencies ?? []).filter((d) => d.api_name).map((d) => `/${d.api_name}`);
  const missing = [UPLOAD_ENDPOINT, DEMO_ENDPOINT].filter((e) => !names.includes(e));
  if (missing.length) return { ok: false, reason: `${space} has no ${missing.join(' or ')} endpoint (its API changed; it has ${names.join(', ') || 'none'})` };
  return { ok: true };
}
