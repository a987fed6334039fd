import type { DataTable } from '@playcanvas/splat-transform';
import { percentile } from '../../formats/geometry.ts';
import type { SplatCompressSettings } from './settings.ts';

export interface CleanReport {
  kept: number;
  nonFinite: number;
  huge: number;
  floaters: number;
  transparent: number;
  /** The robust scene radius the thresholds were relative to. */
  radius: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Which splats a viewer should not get: non-finite values, splats too large for the scene (long
 * streaks that training leaves behind), faint floaters far outside the scene, and ones too
 * transparent to see. Far but opaque splats stay: they draw the distant background.
 * Thresholds are relative to a robust scene radius (the distance from the median position that
 * 90% of the splats lie within), so they work whatever the scene's units.
 */
export function cleanRows(table: DataTable, settings: Pick<SplatCompressSettings, 'hugeScale' | 'floaterDistance' | 'floaterOpacity' | 'minOpacity'>): { rows: Uint32Array; report: CleanReport } {
  const column = (name: string) => {
    const found = table.getColumnByName(name);
    if (!found) throw new Error(`the splats have no "${name}" column`);
    return found.data;
  };
  const [x, y, z] = ['x', 'y', 'z'].map(column) as [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>];
  const scales = ['scale_0', 'scale_1', 'scale_2'].map(column);
  const opacity = column('opacity');
  const n = table.numRows;
  const finite = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let ok = Number.isFinite(x[i]!) && Number.isFinite(y[i]!) && Number.isFinite(z[i]!) && Number.isFinite(opacity[i]!);
    for (const s of scales) ok &&= Number.isFinite(s[i]!);
    for (const c of table.columns) ok &&= Number.isFinite(c.data[i]!);
    finite[i] = ok ? 1 : 0;
  }
  const finiteIndex = [...finite.keys()].filter((i) => finite[i]);
  const report: CleanReport = { kept: 0, nonFinite: n - finiteIndex.length, huge: 0, floaters: 0, transparent: 0, radius: 0 };
  if (!finiteIndex.length) return { rows: new Uint32Array(0), report };
  const centre = [x, y, z].map((axis) => percentile(Float64Array.from(finiteIndex, (i) => axis[i]!), 50));
  const distance = (i: number) => Math.hypot(x[i]! - centre[0]!, y[i]! - centre[1]!, z[i]! - centre[2]!);
  report.radius = Math.max(percentile(Float64Array.from(finiteIndex, distance), 90), 1e-9);
  const kept: number[] = [];
  for (const i of finiteIndex) {
    const largest = Math.exp(Math.max(scales[0]![i]!, scales[1]![i]!, scales[2]![i]!));
    if (largest > settings.hugeScale * report.radius) report.huge++;
    // Far and faint: a distant background is drawn by far splats too, but those are opaque.
    else if (distance(i) > settings.floaterDistance * report.radius && sigmoid(opacity[i]!) < settings.floaterOpacity) report.floaters++;
    else if (sigmoid(opacity[i]!) < settings.minOpacity) report.transparent++;
    else kept.push(i);
  }
  report.kept = kept.length;
  return { rows: Uint32Array.from(kept), report };
}
