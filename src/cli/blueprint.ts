import { readFile } from 'node:fs/promises';
import type { BlueprintStreamEvent, BlueprintView, NodeReconClient } from '../sdk/node.ts';
import { fileItem } from '../sdk/node.ts';
import { intOption, parseCommand, UsageError } from './args.ts';
import { remote } from './connect.ts';
import { formatAge, table } from './format.ts';
import { expandInputs } from './inputs.ts';
import { printHelp } from './usage.ts';

export const BLUEPRINT_HELP = `Usage: recon blueprint <command> [arguments] [--json]

Defect blueprints: product photos and defect classes in, generated defect images (fal.ai)
reviewed and exported as a labelled dataset (COCO, YOLO, MVTec masks) out.

  create <name> [--template ID] [--product TYPE] [--model ID] [--webhook URL] [photos…]
  ls                                        blueprints, newest first
  show <id>                                 photos, defects, the photos × defects matrix
  photos <id> <files|folders…>              add product photos
  defects <id> (--add "name: description" … | --template ID[@VERSION])
  templates                                 built-in and your defect templates
  region <id> --photo ID --defect ID (--box x,y,w,h | --mask FILE.png | --auto)
  suggest <id> [--photo ID]                 ask a vision model for likely defects (waits)
  generate <id> [--count N] [--seed N] [--wait]     the matrix (all cells) through fal
  rate <id> <generationId> approved|rejected|needs_refinement [--feedback TEXT]
  prompt <id> <parentPromptId> <text>       an edited prompt (a child of the parent)
  evolve <id> <promptId> [--count N]        improved prompts from the ratings (waits)
  regenerate <id> <generationId> [--prompt ID] [--seed N] [--wait]
  cancel <id>                               cancel unfinished jobs
  export <id> [--include approved|approved_and_unrated|all] [--rle] [--no-negatives]
              [--val F] [--out DIR|FILE]    build (and download) the dataset ZIP
  delete <id>

Talks to RECON_URL (default http://127.0.0.1:3000) with RECON_API_KEY. Exit codes: 0 success,
1 a job failed or a request was refused, 2 usage error.`;

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const time = (iso: string) => iso.slice(11, 19);

const OPTIONS = {
  json: { type: 'boolean' },
  template: { type: 'string' },
  product: { type: 'string' },
  model: { type: 'string' },
  webhook: { type: 'string' },
  add: { type: 'string', multiple: true },
  photo: { type: 'string' },
  defect: { type: 'string' },
  box: { type: 'string' },
  mask: { type: 'string' },
  auto: { type: 'boolean' },
  count: { type: 'string' },
  seed: { type: 'string' },
  wait: { type: 'boolean' },
  feedback: { type: 'string' },
  prompt: { type: 'string' },
  include: { type: 'string' },
  rle: { type: 'boolean' },
  'no-negatives': { type: 'boolean' },
  val: { type: 'string' },
  out: { type: 'string' },
} as const;

/** One line per meaningful event while waiting: a job's new status, fal's queue position. */
function describe(event: BlueprintStreamEvent, names: Map<string, string>): string | undefined {
  const job = event.jobId ? (names.get(event.jobId) ?? event.jobId) : '';
  if (event.type === 'job') return `${time(event.at)}  ${job} ${event.status}${event.error && event.status !== 'completed' ? ` — ${event.error}` : ''}`;
  if (event.type === 'progress' && event.falState === 'IN_QUEUE') return `${time(event.at)}  ${job} in fal's queue at #${event.queuePosition}`;
  if (event.type === 'log' && event.message) return `${time(event.at)}  ${job} ${event.message}`;
  if (event.type === 'status') return `${time(event.at)}  ── blueprint ${event.status}`;
  return undefined;
}

function cellNames(view: BlueprintView): Map<string, string> {
  const object = new Map(view.objects.map((o) => [o.id, o.name]));
  const defect = new Map(view.defects.map((d) => [d.id, d.name]));
  return new Map(view.generations.map((g) => [g.id, `${object.get(g.objectId)} × ${defect.get(g.defectId)}`]));
}

async function settle(client: NodeReconClient, id: string, quiet: boolean): Promise<BlueprintView> {
  const names = cellNames(await client.blueprints.get(id));
  return client.blueprints.waitUntilSettled(id, {
    onEvent: (event) => {
      if (quiet) return;
      const line = describe(event, names);
      if (line) console.log(line);
    },
  });
}

function showMatrix(view: BlueprintView) {
  console.log(`${view.id}  ${view.name}  [${view.status}]${view.productType ? `  ${view.productType}` : ''}  model ${view.model}`);
  if (!view.objects.length || !view.defects.length) {
    console.log(`  ${view.objects.length} photos, ${view.defects.length} defects`);
    return;
  }
  const cell = (objectId: string, defectId: string) => {
    const generations = view.generations.filter((g) => g.objectId === objectId && g.defectId === defectId);
    if (!generations.length) return '·';
    return generations.map((g) => (g.status === 'completed' ? (g.rating ?? 'done').replace('needs_refinement', 'refine') : g.status)).join(',');
  };
  console.log(
    table(
      ['PHOTO', ...view.defects.map((d) => `${d.name} (${d.categoryId})`)],
      view.objects.map((o) => [`${o.name} ${o.width}x${o.height}`, ...view.defects.map((d) => cell(o.id, d.id))]),
    ),
  );
  const failed = view.generations.filter((g) => g.status === 'failed');
  for (const g of failed) console.log(`  ${g.id} failed: ${g.error}${g.errorHint ? `\n    hint: ${g.errorHint}` : ''}`);
}

async function photoItems(paths: string[]) {
  return Promise.all((await expandInputs(paths, BLUEPRINT_HELP)).map((file) => fileItem(file.path)));
}

function parseBox(raw: string): [number, number, number, number] {
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.length !== 4 || values.some((v) => !Number.isInteger(v) || v < 0)) throw new UsageError(`--box expects x,y,w,h in whole pixels, got "${raw}"`, BLUEPRINT_HELP);
  return values as [number, number, number, number];
}

/** `recon blueprint …` */
export async function blueprintCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') return printHelp(BLUEPRINT_HELP);
  const { values, positionals, help } = parseCommand(`blueprint ${sub}`, rest, OPTIONS, BLUEPRINT_HELP);
  if (help) return printHelp(BLUEPRINT_HELP);
  const { client } = remote();
  const bp = client.blueprints;
  const need = (count: number) => {
    if (positionals.length < count) throw new UsageError(`recon blueprint ${sub}: missing argument`, BLUEPRINT_HELP);
    return positionals;
  };
  const out = (value: unknown, text: () => void) => (values.json ? print(value) : text());
  const count = intOption('count', values.count, BLUEPRINT_HELP);
  const seed = intOption('seed', values.seed, BLUEPRINT_HELP);

  switch (sub) {
    case 'create': {
      const [name, ...photos] = need(1);
      let view = await bp.create({
        name: name!,
        ...(values.template && { template: values.template }),
        ...(values.product && { productType: values.product }),
        ...(values.model && { model: values.model }),
        ...(values.webhook && { webhookUrl: values.webhook }),
      });
      if (photos.length) view = (await bp.uploadPhotos(view.id, await photoItems(photos))).blueprint;
      out(view, () => {
        console.log(view.id);
        showMatrix(view);
      });
      return 0;
    }
    case 'ls': {
      const list = await bp.list();
      out(list, () =>
        console.log(list.blueprints.length ? table(['BLUEPRINT', 'NAME', 'STATUS', 'CREATED'], list.blueprints.map((b) => [b.id, b.name, b.status, formatAge(b.createdAt)])) : 'No blueprints.'),
      );
      return 0;
    }
    case 'show': {
      const view = await bp.get(need(1)[0]!);
      out(view, () => showMatrix(view));
      return view.generations.some((g) => g.status === 'failed') ? 1 : 0;
    }
    case 'photos': {
      const [id, ...inputs] = need(2);
      const result = await bp.uploadPhotos(id!, await photoItems(inputs));
      out(result, () => console.log(`added ${result.objectIds.length} photos: ${result.objectIds.join(', ')}`));
      return 0;
    }
    case 'defects': {
      const [id] = need(1);
      if (!values.template && !values.add?.length) throw new UsageError('recon blueprint defects: give --add "name: description" (repeatable) or --template ID', BLUEPRINT_HELP);
      const result = values.template
        ? await bp.applyTemplate(id!, values.template)
        : await bp.addDefects(
            id!,
            values.add!.map((entry) => {
              const [name, ...description] = entry.split(':');
              return { name: name!.trim(), ...(description.length && { description: description.join(':').trim() }) };
            }),
          );
      out(result, () => showMatrix(result.blueprint));
      return 0;
    }
    case 'templates': {
      const templates = await bp.templates();
      out(templates, () => console.log(table(['TEMPLATE', 'NAME', 'DEFECTS'], templates.map((t) => [`${t.id}@${t.version}`, t.name, t.defects.map((d) => d.name).join(', ')]))));
      return 0;
    }
    case 'region': {
      const [id] = need(1);
      if (!values.photo || !values.defect) throw new UsageError('recon blueprint region: --photo and --defect are required', BLUEPRINT_HELP);
      const shape = values.box
        ? { box: parseBox(values.box) }
        : values.mask
          ? { mask: (await readFile(values.mask)).toString('base64') }
          : values.auto
            ? { auto: true as const }
            : undefined;
      if (!shape) throw new UsageError('recon blueprint region: give --box, --mask or --auto', BLUEPRINT_HELP);
      const result = await bp.addRegion(id!, { objectId: values.photo, defectId: values.defect, ...shape });
      const region = result.blueprint.regions.find((r) => r.id === result.regionIds[0])!;
      out(region, () => console.log(`${region.id}  ${region.kind} [${region.bbox.join(', ')}] ${region.area} px`));
      return 0;
    }
    case 'suggest': {
      const [id] = need(1);
      const job = await bp.suggest(id!, values.photo);
      await settle(client, id!, true);
      const done = (await bp.get(id!)).suggestions.find((s) => s.id === job.id)!;
      out(done, () => {
        if (done.status !== 'completed') return console.log(`suggestion ${done.status}: ${done.error}`);
        console.log(`product: ${done.productType ?? 'unknown'}`);
        for (const d of done.defects) console.log(`  ${d.name} — ${d.description}${d.rationale ? ` (${d.rationale})` : ''}`);
        console.log(`Add them with: recon blueprint defects ${id} --add "<name>: <description>"`);
      });
      return done.status === 'completed' ? 0 : 1;
    }
    case 'generate':
    case 'regenerate': {
      const [id, generationId] = need(sub === 'generate' ? 1 : 2);
      const started =
        sub === 'generate'
          ? await bp.generate(id!, { ...(count !== undefined && { count }), ...(seed !== undefined && { seed }) })
          : [await bp.regenerate(id!, generationId!, { ...(values.prompt && { promptId: values.prompt }), ...(seed !== undefined && { seed }) })];
      if (!values.wait) {
        out(started, () => console.log(`started ${started.length} generation(s): ${started.map((g) => g.id).join(', ')}`));
        return 0;
      }
      const done = await settle(client, id!, !!values.json);
      out(done, () => showMatrix(done));
      return done.generations.some((g) => started.some((s) => s.id === g.id) && g.status !== 'completed') ? 1 : 0;
    }
    case 'rate': {
      const [id, generationId, rating] = need(3);
      if (!['approved', 'rejected', 'needs_refinement'].includes(rating!)) throw new UsageError(`recon blueprint rate: "${rating}" is not approved, rejected or needs_refinement`, BLUEPRINT_HELP);
      const result = await bp.rate(id!, generationId!, rating as 'approved', values.feedback);
      out(result, () => console.log(`${result.id} ${result.rating}${result.feedback ? ` — ${result.feedback}` : ''}`));
      return 0;
    }
    case 'prompt': {
      const [id, parentId, ...words] = need(3);
      const result = await bp.editPrompt(id!, parentId!, words.join(' '));
      out(result, () => console.log(`${result.promptIds[0]} (edited from ${parentId})`));
      return 0;
    }
    case 'evolve': {
      const [id, promptId] = need(2);
      const job = await bp.evolve(id!, promptId!, count ?? 2);
      await settle(client, id!, true);
      const view = await bp.get(id!);
      const done = view.evolutions.find((e) => e.id === job.id)!;
      out(done, () => {
        if (done.status !== 'completed') return console.log(`evolution ${done.status}: ${done.error}`);
        if (done.reflection) console.log(`reflection: ${done.reflection}`);
        for (const child of view.prompts.filter((p) => done.promptIds.includes(p.id))) console.log(`${child.id}  ${child.text}`);
      });
      return done.status === 'completed' ? 0 : 1;
    }
    case 'cancel': {
      const result = await bp.cancel(need(1)[0]!);
      out(result, () => console.log(`cancelled ${result.canceled.length} job(s)`));
      return 0;
    }
    case 'export': {
      const [id] = need(1);
      const include = values.include as 'approved' | 'approved_and_unrated' | 'all' | undefined;
      if (include && !['approved', 'approved_and_unrated', 'all'].includes(include)) throw new UsageError(`--include: "${include}" is not approved, approved_and_unrated or all`, BLUEPRINT_HELP);
      const valFraction = values.val === undefined ? undefined : Number(values.val);
      const made = await bp.export(id!, {
        ...(include && { include }),
        ...(values.rle && { segmentation: 'rle' as const }),
        ...(values['no-negatives'] && { negatives: false }),
        ...(valFraction !== undefined && { valFraction }),
      });
      const saved = values.out ? await client.saveResponse(await bp.downloadExport(id!, made.id), values.out, `${id}-dataset.zip`) : undefined;
      out({ ...made, ...(saved && { savedTo: saved.path }) }, () => {
        console.log(`${made.id}  ${made.bytes} bytes  sha256 ${made.sha256}`);
        console.log(`  ${JSON.stringify(made.summary)}`);
        console.log(saved ? `  saved to ${saved.path}` : `  download: ${client.url(made.downloadUrl)}`);
      });
      return 0;
    }
    case 'delete': {
      await bp.delete(need(1)[0]!);
      return 0;
    }
    default:
      throw new UsageError(`recon blueprint: unknown command "${sub}"`, BLUEPRINT_HELP);
  }
}
