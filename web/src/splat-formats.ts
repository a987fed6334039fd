/** The splat artifacts the viewer can switch between, in the order offered. */
export const SPLAT_FORMATS = [
  { kind: 'splat-ply', label: 'PLY (as trained)', file: 'splat.ply' },
  { kind: 'sog', label: 'SOG', file: 'scene.sog' },
  { kind: 'spz', label: 'SPZ', file: 'splat.spz' },
  { kind: 'splat-compressed-ply', label: 'Compressed PLY', file: 'splat.compressed.ply' },
] as const;
