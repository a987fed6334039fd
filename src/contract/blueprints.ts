import { z } from 'zod';
import { resourceId } from './resource-id.ts';
import {
  BLUEPRINT_STATUSES,
  DEFECT_SOURCES,
  JOB_STATUSES,
  MAX_SEED,
  PART_ID_PATTERN,
  PROMPT_STRATEGIES,
  RATINGS,
  REGION_KINDS,
} from '../domain/blueprint-model.ts';

const text = (max: number) => z.string().trim().min(1).max(max);
const partId = (what: string) => z.string().regex(PART_ID_PATTERN, `not a ${what} id`);
const box = z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(1), z.number().int().min(1)]).describe('[x, y, w, h] in pixels from the top-left corner');

export const blueprintIdParams = z.object({
  blueprintId: resourceId('Blueprint id, e.g. bp_1732170000000_ab12cd34'),
});
export const blueprintPartParams = blueprintIdParams.extend({ partId: resourceId('A photo, defect, region, prompt, generation or export id of the blueprint') });

// Views

export const objectView = z.object({
  id: z.string(),
  name: z.string(),
  contentType: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
  position: z.number().int(),
  imageUrl: z.string(),
});

export const defectView = z.object({
  id: z.string(),
  categoryId: z.number().int().describe('Stable COCO category id (YOLO classes follow its order)'),
  name: z.string(),
  description: z.string().nullable(),
  rationale: z.string().nullable(),
  source: z.enum(DEFECT_SOURCES),
  template: z.string().nullable().describe('template-id@version when it came from a template'),
  promptId: z.string().nullable().describe('The newest prompt: what generations use unless told otherwise'),
});

export const regionView = z.object({
  id: z.string(),
  objectId: z.string(),
  defectId: z.string(),
  kind: z.enum(REGION_KINDS),
  bbox: box,
  area: z.number().int(),
  maskUrl: z.string(),
});

export const promptStats = z.object({
  generations: z.number().int(),
  completed: z.number().int(),
  approved: z.number().int(),
  rejected: z.number().int(),
  needsRefinement: z.number().int(),
  approvalRate: z.number().nullable().describe('approved / rated, null before any rating'),
});

export const promptView = z.object({
  id: z.string(),
  defectId: z.string(),
  parentId: z.string().nullable(),
  text: z.string(),
  strategy: z.enum(PROMPT_STRATEGIES),
  note: z.string().nullable().describe('Why it exists: the reflection behind an evolved prompt'),
  createdAt: z.string(),
  stats: promptStats,
});

const jobFields = {
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  attempt: z.number().int(),
  falState: z.string().nullable().describe('IN_QUEUE, IN_PROGRESS or COMPLETED, as fal last said'),
  queuePosition: z.number().int().nullable(),
  requestId: z.string().nullable().describe("fal's request id"),
  error: z.string().nullable(),
  errorHint: z.string().nullable(),
  fieldErrors: z.array(z.object({ field: z.string(), message: z.string(), type: z.string() })).nullable().describe('What fal refused (422), by field'),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
};

export const generationView = z.object({
  ...jobFields,
  objectId: z.string(),
  defectId: z.string(),
  regionId: z.string(),
  promptId: z.string(),
  model: z.string(),
  seed: z.number().int().describe('Sent to fal; the same seed, prompt and region repeat the image'),
  bbox: box.nullable(),
  area: z.number().int().nullable().describe('Pixels in the label mask'),
  rating: z.enum(RATINGS).nullable(),
  feedback: z.string().nullable(),
  imageUrl: z.string().nullable(),
  maskUrl: z.string().nullable(),
});

export const suggestionView = z.object({
  ...jobFields,
  objectId: z.string().nullable(),
  productType: z.string().nullable(),
  defects: z.array(z.object({ name: z.string(), description: z.string(), rationale: z.string() })),
});

export const evolutionView = z.object({
  ...jobFields,
  promptId: z.string(),
  promptIds: z.array(z.string()).describe('The evolved children'),
  reflection: z.string().nullable(),
});

export const blueprintSummary = z.object({
  id: z.string(),
  name: z.string(),
  productType: z.string().nullable(),
  model: z.string(),
  status: z.enum(BLUEPRINT_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const blueprintView = blueprintSummary.extend({
  webhookUrl: z.string().nullable(),
  objects: z.array(objectView),
  defects: z.array(defectView),
  regions: z.array(regionView),
  prompts: z.array(promptView),
  generations: z.array(generationView),
  suggestions: z.array(suggestionView),
  evolutions: z.array(evolutionView),
});
export type BlueprintView = z.infer<typeof blueprintView>;

export const blueprintList = z.object({ blueprints: z.array(blueprintSummary), total: z.number().int() });

export const exportView = z.object({
  id: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  options: z.record(z.string(), z.unknown()),
  summary: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  downloadUrl: z.string(),
});

export const templateView = z.object({
  id: z.string(),
  version: z.number().int(),
  name: z.string(),
  productType: z.string().nullable(),
  builtIn: z.boolean(),
  defects: z.array(z.object({ name: z.string(), description: z.string() })),
});

export const blueprintCapabilities = z.object({
  generation: z.boolean().describe('FAL_KEY is set'),
  suggestions: z.boolean().describe('FAL_VLM_ENDPOINT is set'),
  evolution: z.boolean().describe('FAL_LLM_ENDPOINT is set'),
  webhooks: z.boolean().describe('RECON_PUBLIC_URL is set: fal calls back instead of being polled'),
  defaultModel: z.string(),
  models: z.array(z.object({ id: z.string(), label: z.string(), kind: z.enum(['inpaint', 'edit']) })),
});

// Requests

export const listBlueprintsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const createBlueprintBody = z
  .object({
    name: text(200),
    productType: text(120).optional(),
    model: z.string().optional().describe('fal image endpoint; the server default (FAL_IMAGE_ENDPOINT) when omitted'),
    webhookUrl: z.string().url().optional().describe('Receives blueprint.generation.completed and blueprint.completed'),
    template: z.string().optional().describe('Apply a defect template at once: its id, or id@version'),
  })
  .strict();

export const updateBlueprintBody = z
  .object({
    name: text(200).optional(),
    productType: text(120).nullable().optional(),
    model: z.string().optional(),
    webhookUrl: z.string().url().nullable().optional(),
  })
  .strict();

const newDefect = z
  .object({
    name: text(80),
    description: z.string().trim().max(500).optional(),
    rationale: z.string().trim().max(500).optional(),
    source: z.enum(['custom', 'suggested']).default('custom'),
  })
  .strict();

export const addDefectsBody = z
  .object({
    defects: z.array(newDefect).min(1).max(50).optional(),
    template: z.string().optional().describe('Add a template’s defects: its id, or id@version'),
  })
  .strict()
  .refine((b) => !!b.defects !== !!b.template, 'give either "defects" or "template"');

export const updateDefectBody = z.object({ name: text(80).optional(), description: z.string().trim().max(500).nullable().optional() }).strict();

export const addRegionBody = z
  .object({
    objectId: partId('photo'),
    defectId: partId('defect'),
    box: box.optional(),
    mask: z.string().max(8_000_000).optional().describe('A PNG as base64 (or a data: URL): white or opaque = region'),
    auto: z.literal(true).optional().describe('Place an elliptical region inside the product automatically'),
  })
  .strict()
  .refine((b) => [b.box, b.mask, b.auto].filter((v) => v !== undefined).length === 1, 'give exactly one of "box", "mask" or "auto"');

export const addPromptBody = z.object({ parentId: partId('prompt'), text: text(2000) }).strict();

export const generateBody = z
  .object({
    cells: z
      .array(z.object({ objectId: partId('photo'), defectId: partId('defect') }).strict())
      .max(2500)
      .optional()
      .describe('Which photo × defect cells; all of them when omitted'),
    promptId: partId('prompt').optional().describe('Use this prompt (its defect’s cells only); default: each defect’s newest'),
    count: z.number().int().min(1).max(8).default(1).describe('Images per region'),
    seed: z.number().int().min(0).max(MAX_SEED).optional().describe('A fixed seed; random (and stored) when omitted'),
  })
  .strict()
  .default({ count: 1 });

export const regenerateBody = z
  .object({
    promptId: partId('prompt').optional(),
    seed: z.number().int().min(0).max(MAX_SEED).optional().describe('Omit for a new random seed; give the old one to repeat it'),
  })
  .strict()
  .default({});

export const rateBody = z.object({ rating: z.enum(RATINGS), feedback: z.string().trim().max(2000).optional() }).strict();

export const cancelBody = z.object({ jobIds: z.array(partId('job')).max(2500).optional() }).strict().default({});

export const suggestBody = z.object({ objectId: partId('photo').optional() }).strict().default({});

export const evolveBody = z.object({ count: z.number().int().min(1).max(4).default(2) }).strict().default({ count: 2 });

export const exportBody = z
  .object({
    include: z.enum(['approved', 'approved_and_unrated', 'all']).default('approved').describe('"all" still leaves out rejected images'),
    valFraction: z.number().min(0).max(0.9).default(0.2).describe('Share of photos (and all their images) held out for validation'),
    splitSeed: z.number().int().min(0).max(2 ** 31 - 1).optional().describe("Default: the blueprint's own seed"),
    segmentation: z.enum(['polygon', 'rle']).default('polygon'),
    negatives: z.boolean().default(true).describe('The original photos as defect-free images'),
  })
  .strict()
  .default({ include: 'approved', valFraction: 0.2, segmentation: 'polygon', negatives: true });

export const templateBody = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,47}$/, 'lowercase letters, digits and dashes')
      .optional()
      .describe('An existing id makes a new version'),
    name: text(120),
    productType: text(120).optional(),
    defects: z.array(z.object({ name: text(80), description: z.string().trim().max(500).default('') }).strict()).min(1).max(50),
  })
  .strict();

export const blueprintStreamQuery = z.object({ lastEventId: z.coerce.number().int().min(0).optional() });
export const generationFileParams = blueprintPartParams.extend({ file: z.enum(['image', 'mask']) });
