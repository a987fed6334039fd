import type { z } from 'zod';
import type { blueprintSummary, BlueprintView, evolutionView, generationView, promptView, suggestionView } from '../contract/blueprints.ts';
import type { PromptStats } from '../db/blueprint-jobs-repository.ts';
import type {
  BlueprintDefectRow,
  BlueprintJobRow,
  BlueprintObjectRow,
  BlueprintPromptRow,
  BlueprintRegionRow,
  BlueprintRow,
} from '../db/blueprint-tables.ts';

const base = (blueprintId: string) => `/api/blueprints/${blueprintId}`;

export function toSummaryView(row: BlueprintRow): z.infer<typeof blueprintSummary> {
  return {
    id: row.id,
    name: row.name,
    productType: row.product_type,
    model: row.model,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function jobFields(job: BlueprintJobRow) {
  return {
    id: job.id,
    status: job.status,
    attempt: job.attempt,
    falState: job.fal_state,
    queuePosition: job.queue_position,
    requestId: job.request_id,
    error: job.error,
    errorHint: job.error_hint,
    fieldErrors: job.field_errors,
    createdAt: job.created_at.toISOString(),
    finishedAt: job.finished_at?.toISOString() ?? null,
  };
}

export function toGenerationView(job: BlueprintJobRow): z.infer<typeof generationView> {
  const done = job.status === 'completed';
  const files = `${base(job.blueprint_id)}/generations/${job.id}`;
  return {
    ...jobFields(job),
    objectId: job.object_id!,
    defectId: job.defect_id!,
    regionId: job.region_id!,
    promptId: job.prompt_id!,
    model: job.endpoint,
    seed: job.seed ?? 0,
    bbox: job.bbox,
    area: job.area,
    rating: job.rating,
    feedback: job.feedback,
    imageUrl: done ? `${files}/image` : null,
    maskUrl: done ? `${files}/mask` : null,
  };
}

function toSuggestionView(job: BlueprintJobRow): z.infer<typeof suggestionView> {
  const result = (job.result ?? {}) as { productType?: string | null; defects?: { name: string; description: string; rationale: string }[] };
  return { ...jobFields(job), objectId: job.object_id, productType: result.productType ?? null, defects: result.defects ?? [] };
}

function toEvolutionView(job: BlueprintJobRow): z.infer<typeof evolutionView> {
  const result = (job.result ?? {}) as { promptIds?: string[]; reflection?: string | null };
  return { ...jobFields(job), promptId: job.prompt_id!, promptIds: result.promptIds ?? [], reflection: result.reflection ?? null };
}

function toPromptView(prompt: BlueprintPromptRow, stats: PromptStats | undefined): z.infer<typeof promptView> {
  const rated = stats ? stats.approved + stats.rejected + stats.needsRefinement : 0;
  return {
    id: prompt.id,
    defectId: prompt.defect_id,
    parentId: prompt.parent_id,
    text: prompt.text,
    strategy: prompt.strategy,
    note: prompt.note,
    createdAt: prompt.created_at.toISOString(),
    stats: {
      generations: stats?.generations ?? 0,
      completed: stats?.completed ?? 0,
      approved: stats?.approved ?? 0,
      rejected: stats?.rejected ?? 0,
      needsRefinement: stats?.needsRefinement ?? 0,
      approvalRate: rated ? (stats?.approved ?? 0) / rated : null,
    },
  };
}

export interface BlueprintParts {
  row: BlueprintRow;
  objects: BlueprintObjectRow[];
  defects: BlueprintDefectRow[];
  regions: BlueprintRegionRow[];
  prompts: BlueprintPromptRow[];
  jobs: BlueprintJobRow[];
  stats: PromptStats[];
}

/** The whole blueprint as GET /api/blueprints/:id answers it. */
export function toBlueprintView(parts: BlueprintParts): BlueprintView {
  const { row } = parts;
  const stats = new Map(parts.stats.map((s) => [s.promptId, s]));
  const latest = new Map<string, string>();
  for (const prompt of parts.prompts) latest.set(prompt.defect_id, prompt.id);
  return {
    ...toSummaryView(row),
    webhookUrl: row.webhook_url,
    objects: parts.objects.map((o) => ({
      id: o.id,
      name: o.name,
      contentType: o.content_type,
      width: o.width,
      height: o.height,
      bytes: o.bytes,
      sha256: o.sha256,
      position: o.position,
      imageUrl: `${base(row.id)}/objects/${o.id}/image`,
    })),
    defects: parts.defects.map((d) => ({
      id: d.id,
      categoryId: d.category_id,
      name: d.name,
      description: d.description,
      rationale: d.rationale,
      source: d.source,
      template: d.template,
      promptId: latest.get(d.id) ?? null,
    })),
    regions: parts.regions.map((r) => ({
      id: r.id,
      objectId: r.object_id,
      defectId: r.defect_id,
      kind: r.kind,
      bbox: r.bbox,
      area: r.area,
      maskUrl: `${base(row.id)}/regions/${r.id}/mask`,
    })),
    prompts: parts.prompts.map((p) => toPromptView(p, stats.get(p.id))),
    generations: parts.jobs.filter((j) => j.kind === 'generation').map(toGenerationView),
    suggestions: parts.jobs.filter((j) => j.kind === 'suggestion').map(toSuggestionView),
    evolutions: parts.jobs.filter((j) => j.kind === 'evolution').map(toEvolutionView),
  };
}
