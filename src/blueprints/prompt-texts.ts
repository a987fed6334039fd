import { z } from 'zod';

/** The longest prompt we store or send (fal's image endpoints cap prompts at a few thousand characters). */
export const MAX_PROMPT_CHARS = 2000;

/** The first prompt of a defect class: what to paint, and to leave the rest of the photo alone. */
export function seedPromptText(defect: { name: string; description: string | null }, productType: string | null): string {
  const what = defect.description ? `${defect.name} (${defect.description})` : defect.name;
  const where = productType ? `the ${productType}` : 'the product';
  return `Add a realistic ${what} to the surface of ${where}, matching its material, lighting and texture. Keep the rest of the photo unchanged.`;
}

export const SUGGESTION_SYSTEM_PROMPT =
  'You are a visual inspection engineer. You look at a product photo and name the manufacturing and handling defects an inspection model should learn to detect on it.';

export function suggestionPrompt(existing: string[]): string {
  return [
    'Look at the product in the photo.',
    'Name the product type in a few words, and list 3 to 8 visible-surface defects that commonly occur on such products.',
    existing.length ? `Leave out defects already listed: ${existing.map((name) => JSON.stringify(name)).join(', ')}.` : '',
    'Answer with JSON only, in this shape:',
    '{"product_type": "…", "defects": [{"name": "…", "description": "what it looks like", "rationale": "why it happens on this product"}]}',
  ]
    .filter(Boolean)
    .join('\n');
}

const suggestionAnswer = z.object({
  product_type: z.string().trim().min(1).max(120).optional(),
  defects: z
    .array(
      z.object({
        name: z.string().trim().min(1).max(80),
        description: z.string().trim().max(500).optional().default(''),
        rationale: z.string().trim().max(500).optional().default(''),
      }),
    )
    .max(20),
});

export type Suggestion = { productType: string | null; defects: { name: string; description: string; rationale: string }[] };

/** Reads a VLM's answer: the first JSON object in it (code fences and chatter around it are fine). */
export function parseSuggestion(text: string): Suggestion {
  const parsed = suggestionAnswer.parse(firstJsonObject(text));
  const seen = new Set<string>();
  const defects = parsed.defects.filter((d) => {
    const key = d.name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { productType: parsed.product_type ?? null, defects };
}

export const EVOLVE_SYSTEM_PROMPT =
  'You improve text prompts for an image model that paints one defect onto a product photo. You reflect on how people rated earlier results, then propose better prompts.';

export interface RatedResult {
  rating: 'approved' | 'rejected' | 'needs_refinement';
  feedback: string | null;
}

/**
 * A reflective mutation in the manner of GEPA: the parent prompt, the defect it should show,
 * and every rating with its feedback go to the model, which diagnoses what went wrong (or right)
 * and proposes improved prompts.
 */
export function evolvePrompt(input: { parent: string; defect: { name: string; description: string | null }; productType: string | null; results: RatedResult[]; count: number }): string {
  const results = input.results.length
    ? input.results.map((r) => `- ${r.rating}: ${JSON.stringify(r.feedback ?? '')}`).join('\n')
    : '- (no ratings yet)';
  return [
    'PARENT PROMPT:',
    input.parent.replace(/\s*\n\s*/g, ' '),
    '',
    `DEFECT: ${input.defect.name}${input.defect.description ? ` — ${input.defect.description}` : ''}`,
    `PRODUCT: ${input.productType ?? 'unknown'}`,
    '',
    'RATED RESULTS (rating: reviewer feedback):',
    results,
    '',
    'First reflect: which words of the parent prompt led to the rejected or refined results, and what the approved ones had in common.',
    `Then write ${input.count} improved prompt(s). Each must still describe only this defect, stay under 400 characters, and keep the rest of the photo unchanged.`,
    'Answer with JSON only: {"reflection": "…", "prompts": ["…"]}',
  ].join('\n');
}

const evolveAnswer = z.object({
  reflection: z.string().max(4000).optional(),
  prompts: z.array(z.string().trim().min(1).max(MAX_PROMPT_CHARS)).min(1),
});

/** Reads an LLM's improved prompts; drops repeats and copies of the parent. */
export function parseEvolved(text: string, parent: string, count: number): { prompts: string[]; reflection: string | null } {
  const parsed = evolveAnswer.parse(firstJsonObject(text));
  const prompts = [...new Set(parsed.prompts)].filter((p) => p !== parent.trim()).slice(0, count);
  if (!prompts.length) throw new Error('the model proposed no prompt different from the parent');
  return { prompts, reflection: parsed.reflection ?? null };
}

function firstJsonObject(text: string): unknown {
  const start = text.indexOf('{');
  if (start < 0) throw new Error('the answer holds no JSON object');
  // Scan for the matching brace, minding strings, so trailing chatter does not break parsing.
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return JSON.parse(text.slice(start, i + 1));
  }
  throw new Error('the answer’s JSON object is cut short');
}
