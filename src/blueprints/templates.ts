/** A defect as a template lists it. */
export interface TemplateDefect {
  name: string;
  description: string;
}

/** A versioned preset of defects for a kind of product; applying it records `id@version`. */
export interface DefectTemplate {
  id: string;
  version: number;
  name: string;
  productType: string;
  defects: TemplateDefect[];
  builtIn: boolean;
}

const builtIn = (id: string, name: string, productType: string, defects: [string, string][]): DefectTemplate => ({
  id,
  version: 1,
  name,
  productType,
  defects: defects.map(([defectName, description]) => ({ name: defectName, description })),
  builtIn: true,
});

/** The presets every server has; user-defined templates live in the database next to them. */
export const BUILT_IN_TEMPLATES: readonly DefectTemplate[] = [
  builtIn('pcb', 'Printed circuit board', 'printed circuit board', [
    ['missing component', 'an empty footprint where a component should be soldered'],
    ['solder bridge', 'a blob of solder shorting two neighbouring pads or pins'],
    ['scratched trace', 'a scratch cutting through a copper trace'],
    ['burn mark', 'a dark scorched area on the board surface'],
  ]),
  builtIn('metal-casting', 'Metal casting', 'cast metal part', [
    ['porosity', 'a cluster of small round pores in the metal surface'],
    ['crack', 'a thin jagged crack in the casting'],
    ['cold shut', 'a visible seam where two metal fronts did not fuse'],
    ['inclusion', 'a dark foreign particle embedded in the surface'],
  ]),
  builtIn('glass-bottle', 'Glass bottle', 'glass bottle', [
    ['chip', 'a small piece broken off the glass edge'],
    ['crack', 'a fine crack line running through the glass'],
    ['bubble', 'an air bubble trapped inside the glass wall'],
    ['contamination', 'a speck of dirt or foreign matter on or in the glass'],
  ]),
  builtIn('fabric', 'Fabric', 'woven fabric', [
    ['hole', 'a small hole with frayed threads'],
    ['stain', 'a discoloured stain soaked into the weave'],
    ['broken yarn', 'a broken or missing thread in the weave pattern'],
    ['knot', 'a thick knot or slub in the yarn'],
  ]),
  builtIn('painted-panel', 'Painted panel', 'painted metal panel', [
    ['scratch', 'a thin scratch through the paint'],
    ['dent', 'a shallow dent deforming the panel surface'],
    ['paint run', 'a sag where wet paint ran down before drying'],
    ['orange peel', 'a patch of bumpy, uneven paint texture'],
  ]),
  builtIn('wood', 'Wood', 'wooden board', [
    ['knot hole', 'a hole where a knot fell out of the wood'],
    ['split', 'a crack along the grain of the wood'],
    ['rot', 'a soft, dark, decayed patch'],
    ['insect damage', 'small bored holes from wood-boring insects'],
  ]),
];
