import type { ExportView } from '../../../src/sdk/client.ts';
import { blueprintApi, describeError, downloadFile } from '../api.ts';
import { errorBox, h, replaceChildren } from '../dom.ts';
import { formatBytes } from '../../../src/sdk/format.ts';
import { formatWhen } from '../format.ts';
import type { BlueprintState } from './state.ts';

/** Step 6: the dataset — COCO, YOLO and MVTec masks in one ZIP, the same bytes for the same input. */
export function exportSection(state: BlueprintState): HTMLElement {
  const include = h(
    'select',
    { id: 'bp-export-include' },
    h('option', { value: 'approved' }, 'Approved images only'),
    h('option', { value: 'approved_and_unrated' }, 'Approved and not yet rated'),
    h('option', { value: 'all' }, 'Everything but rejected'),
  );
  const segmentation = h('select', { id: 'bp-export-segmentation' }, h('option', { value: 'polygon' }, 'Polygons'), h('option', { value: 'rle' }, 'RLE masks (iscrowd)'));
  const valFraction = h('input', { type: 'number', id: 'bp-export-val', min: 0, max: 0.9, step: 0.05, value: 0.2 });
  const negatives = h('input', { type: 'checkbox', id: 'bp-export-negatives', checked: true });
  const button = h('button', { type: 'button', class: 'button-primary', onclick: () => void run() }, 'Export dataset');
  const list = h('ul', { class: 'export-list', 'aria-label': 'Exports' });
  const errors = h('div', { 'aria-live': 'polite' });
  let exports: ExportView[] = [];

  async function run() {
    button.disabled = true;
    try {
      await blueprintApi.client().export(state.id, {
        include: include.value as 'approved',
        segmentation: segmentation.value as 'polygon',
        valFraction: Number(valFraction.value),
        negatives: negatives.checked,
      });
      replaceChildren(errors);
      await load();
    } catch (error) {
      replaceChildren(errors, errorBox('Nothing was exported', describeError(error)));
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    exports = await blueprintApi.client().exports(state.id);
    render();
  }

  function render() {
    const approved = state.view.generations.filter((g) => g.rating === 'approved').length;
    button.title = approved ? '' : 'Approve some images first (or include unrated ones)';
    replaceChildren(
      list,
      exports.map((e) => {
        const summary = e.summary as { images?: { train: number; val: number }; annotations?: number; categories?: number };
        return h(
          'li',
          null,
          h('div', null, h('strong', null, formatBytes(e.bytes)), ` · ${summary.images?.train ?? 0} train / ${summary.images?.val ?? 0} val images · ${summary.annotations ?? 0} labels · ${summary.categories ?? 0} classes`),
          h('p', { class: 'muted small mono', title: 'SHA-256: the same input always gives the same file' }, `${formatWhen(e.createdAt)} · sha256 ${e.sha256.slice(0, 16)}…`),
          h('button', { type: 'button', class: 'button', onclick: () => void downloadFile(e.downloadUrl).catch((error) => replaceChildren(errors, errorBox('The download failed', describeError(error)))) }, '↓ Download ZIP'),
        );
      }),
    );
  }
  void load().catch(() => {});
  state.onChange(render);

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bp-export-heading' },
    h('h2', { id: 'bp-export-heading' }, h('span', { class: 'step' }, '6'), 'Export'),
    h('p', { class: 'muted small' }, 'COCO (annotations/instances_train|val.json), YOLO (images/, labels/, data.yaml), MVTec-style masks and a manifest with every image’s lineage. Photos are split into train and val whole, so no product is in both.'),
    h(
      'div',
      { class: 'inline-form' },
      h('div', { class: 'field' }, h('label', { for: 'bp-export-include' }, 'Images'), include),
      h('div', { class: 'field' }, h('label', { for: 'bp-export-segmentation' }, 'Segmentation'), segmentation),
      h('div', { class: 'field narrow-field' }, h('label', { for: 'bp-export-val' }, 'Validation'), valFraction),
      h('label', { class: 'check', for: 'bp-export-negatives' }, negatives, ' Originals as negatives'),
      button,
    ),
    errors,
    list,
  );
}
