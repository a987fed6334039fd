import { blueprintApi, describeError } from '../api.ts';
import { errorBox, h, replaceChildren } from '../dom.ts';
import { storedImage } from './image.ts';
import type { BlueprintState } from './state.ts';

type Tool = 'box' | 'brush';

/**
 * Step 3: where each defect goes on each photo. Draw a box, paint a mask with a brush, or let
 * the server place one inside the product; cells without a region get one placed automatically
 * when generating.
 */
export function regionsSection(state: BlueprintState): HTMLElement {
  const photoSelect = h('select', { id: 'bp-region-photo' });
  const defectSelect = h('select', { id: 'bp-region-defect' });
  const errors = h('div', { 'aria-live': 'polite' });
  const status = h('p', { class: 'muted small', role: 'status' });
  const stage = h('div', { class: 'region-stage' });
  const regionList = h('ul', { class: 'region-list', 'aria-label': 'Regions of this photo and defect' });
  const brushSize = h('input', { type: 'range', id: 'bp-brush', min: 2, max: 40, value: 10 });
  const toolBox = h('button', { type: 'button', 'aria-pressed': 'true', onclick: () => setTool('box') }, '▭ Box');
  const toolBrush = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => setTool('brush') }, '✎ Brush');
  const saveButton = h('button', { type: 'button', class: 'button-primary', disabled: true, onclick: () => void save() }, 'Save region');
  const clearButton = h('button', { type: 'button', class: 'button-quiet', onclick: () => clearDrawing() }, 'Clear');
  const autoButton = h('button', { type: 'button', onclick: () => void place() }, 'Place automatically');

  let tool: Tool = 'box';
  let canvas: HTMLCanvasElement | undefined;
  let mask: HTMLCanvasElement | undefined;
  let box: [number, number, number, number] | undefined;
  let painted = false;

  const object = () => state.view.objects.find((o) => o.id === photoSelect.value);
  const fail = (title: string) => (error: unknown) => replaceChildren(errors, errorBox(title, describeError(error)));

  function setTool(next: Tool) {
    tool = next;
    toolBox.setAttribute('aria-pressed', String(next === 'box'));
    toolBrush.setAttribute('aria-pressed', String(next === 'brush'));
    clearDrawing();
  }

  function clearDrawing() {
    box = undefined;
    painted = false;
    mask?.getContext('2d')?.clearRect(0, 0, mask.width, mask.height);
    draw();
  }

  /** The photo with this cell's regions outlined, and what is being drawn. */
  function draw() {
    const o = object();
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || !o) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const line = Math.max(1, o.width / 240);
    for (const region of cellRegions()) {
      ctx.strokeStyle = '#f2b84b';
      ctx.lineWidth = line;
      ctx.setLineDash([4 * line, 3 * line]);
      ctx.strokeRect(region.bbox[0], region.bbox[1], region.bbox[2], region.bbox[3]);
    }
    ctx.setLineDash([]);
    if (mask && painted) {
      ctx.globalAlpha = 0.55;
      ctx.drawImage(mask, 0, 0);
      ctx.globalAlpha = 1;
    }
    if (box) {
      ctx.fillStyle = 'rgb(42 122 120 / 35%)';
      ctx.fillRect(...box);
      ctx.strokeStyle = '#2a7a78';
      ctx.lineWidth = line * 1.5;
      ctx.strokeRect(...box);
    }
    saveButton.disabled = !(box && box[2] > 0 && box[3] > 0) && !painted;
  }

  const cellRegions = () => state.view.regions.filter((r) => r.objectId === photoSelect.value && r.defectId === defectSelect.value);

  function point(event: PointerEvent): [number, number] {
    const rect = canvas!.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * canvas!.width;
    const y = ((event.clientY - rect.top) / rect.height) * canvas!.height;
    return [Math.max(0, Math.min(canvas!.width, x)), Math.max(0, Math.min(canvas!.height, y))];
  }

  function setUpStage() {
    const o = object();
    if (!o) {
      replaceChildren(stage, h('p', { class: 'empty' }, 'Upload a photo and add a defect first.'));
      return;
    }
    canvas = h('canvas', { width: o.width, height: o.height, class: 'region-canvas', 'aria-label': `Draw the region on ${o.name}`, role: 'img' });
    mask = h('canvas', { width: o.width, height: o.height });
    box = undefined;
    painted = false;
    let start: [number, number] | undefined;
    canvas.addEventListener('pointerdown', (event) => {
      canvas!.setPointerCapture(event.pointerId);
      start = point(event);
      if (tool === 'brush') paint(start);
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!start) return;
      const [x, y] = point(event);
      if (tool === 'box') {
        box = [Math.round(Math.min(start[0], x)), Math.round(Math.min(start[1], y)), Math.round(Math.abs(x - start[0])), Math.round(Math.abs(y - start[1]))];
        draw();
      } else paint([x, y]);
    });
    canvas.addEventListener('pointerup', () => {
      start = undefined;
    });
    // Sized from the photo's dimensions, so drawing works before the image has arrived.
    replaceChildren(stage, h('div', { class: 'region-photo', style: { aspectRatio: `${o.width} / ${o.height}` } }, storedImage(o.imageUrl, o.name), canvas));
    draw();
  }

  function paint([x, y]: [number, number]) {
    const ctx = mask?.getContext('2d');
    const o = object();
    if (!ctx || !o) return;
    ctx.fillStyle = '#2a7a78';
    ctx.beginPath();
    ctx.arc(x, y, (Number(brushSize.value) / 200) * Math.max(o.width, o.height), 0, Math.PI * 2);
    ctx.fill();
    painted = true;
    draw();
  }

  async function save() {
    const o = object();
    if (!o || !defectSelect.value) return;
    try {
      const region = painted && mask ? { mask: mask.toDataURL('image/png') } : { box: box! };
      const result = await blueprintApi.client().addRegion(state.id, { objectId: o.id, defectId: defectSelect.value, ...region });
      status.textContent = 'Region saved.';
      replaceChildren(errors);
      await state.refresh(result.blueprint);
      clearDrawing();
    } catch (error) {
      fail('The region was not saved')(error);
    }
  }

  async function place() {
    const o = object();
    if (!o || !defectSelect.value) return;
    try {
      const result = await blueprintApi.client().addRegion(state.id, { objectId: o.id, defectId: defectSelect.value, auto: true });
      status.textContent = 'Region placed inside the product.';
      await state.refresh(result.blueprint);
    } catch (error) {
      fail('No region could be placed')(error);
    }
  }

  function render() {
    const { objects, defects } = state.view;
    const keepPhoto = photoSelect.value;
    const keepDefect = defectSelect.value;
    replaceChildren(photoSelect, objects.map((o) => h('option', { value: o.id, selected: o.id === keepPhoto }, o.name)));
    replaceChildren(defectSelect, defects.map((d) => h('option', { value: d.id, selected: d.id === keepDefect }, d.name)));
    if (photoSelect.value !== keepPhoto || !canvas) setUpStage();
    replaceChildren(
      regionList,
      cellRegions().map((region) =>
        h(
          'li',
          null,
          h('span', { class: 'tag' }, region.kind),
          ` [${region.bbox.join(', ')}] · ${region.area} px `,
          h(
            'button',
            {
              type: 'button',
              class: 'button-quiet',
              'aria-label': `Remove region ${region.id}`,
              onclick: async () => {
                await blueprintApi.client().removeRegion(state.id, region.id).catch(fail('The region was not removed'));
                await state.refresh();
              },
            },
            'Remove',
          ),
        ),
      ),
    );
    if (!cellRegions().length) regionList.append(h('li', { class: 'muted small' }, 'No region yet: one is placed inside the product when you generate.'));
    draw();
  }
  photoSelect.addEventListener('change', () => {
    setUpStage();
    render();
  });
  defectSelect.addEventListener('change', () => render());
  state.onChange(render);
  render();

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bp-regions-heading' },
    h('h2', { id: 'bp-regions-heading' }, h('span', { class: 'step' }, '3'), 'Regions'),
    h(
      'div',
      { class: 'inline-form' },
      h('div', { class: 'field' }, h('label', { for: 'bp-region-photo' }, 'Photo'), photoSelect),
      h('div', { class: 'field' }, h('label', { for: 'bp-region-defect' }, 'Defect'), defectSelect),
    ),
    h(
      'div',
      { class: 'region-layout' },
      stage,
      h(
        'div',
        { class: 'region-tools' },
        h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Drawing tool' }, toolBox, toolBrush),
        h('div', { class: 'field' }, h('label', { for: 'bp-brush' }, 'Brush size'), brushSize),
        h('div', { class: 'toolbar' }, saveButton, clearButton),
        autoButton,
        status,
        regionList,
        errors,
      ),
    ),
  );
}
