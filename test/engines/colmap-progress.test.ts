import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createExtractionChecker, createRegistrationCounter, parseProgressLine } from '../../src/engines/colmap/progress.ts';

// Lines captured from COLMAP 3.8 (Debian, CPU build) on this machine.
const FEATURE_EXTRACTION = `
==============================================================================
Feature extraction
==============================================================================

Processed file [1/9]
  Name:            0000.jpg
  Dimensions:      3072 x 2048
  Camera:          #1 - SIMPLE_RADIAL
  Focal Length:    3686.40px
  Features:        3878
Processed file [8/9]
  Name:            K.txt
  ERROR: Failed to read image file format.
Processed file [9/9]
  Name:            0006.jpg
  Dimensions:      3072 x 2048
  Camera:          #7 - SIMPLE_RADIAL
  Focal Length:    3686.40px
  Features:        3742
Elapsed time: 0.037 [minutes]`.split('\n');

const MAPPER = `
==============================================================================
Initializing with image pair #6 and #7
==============================================================================

==============================================================================
Global bundle adjustment
==============================================================================

iter      cost      cost_change  |gradient|   |step|    tr_ratio  tr_radius  ls_iter  iter_time  total_time
   0  6.098080e+02    0.00e+00    1.42e+05   0.00e+00   0.00e+00  1.00e+04        0    1.58e-03    3.75e-03
==============================================================================
Registering image #8 (3)
==============================================================================

  => Image sees 986 / 2331 points
==============================================================================
Registering image #5 (4)
==============================================================================`.split('\n');

describe('COLMAP progress parsing', () => {
  it('reads feature extraction progress', () => {
    assert.deepEqual(parseProgressLine('Processed file [1/9]', 9), { stage: 'extracting', fraction: 1 / 9, message: 'Extracted features from image 1 of 9' });
    assert.equal(parseProgressLine('Processed file [9/9]', 9)?.fraction, 1);
    assert.equal(parseProgressLine('  Name:            0000.jpg', 9), undefined);
    assert.equal(parseProgressLine('Elapsed time: 0.037 [minutes]', 9), undefined);
  });

  it('reads exhaustive matching blocks row by row', () => {
    const lines = ['Matching block [1/3, 1/3] in 0.623s', 'Matching block [1/3, 3/3] in 0.384s', 'Matching block [2/3, 1/3] in 0.978s', 'Matching block [3/3, 3/3] in 0.325s'];
    const fractions = lines.map((line) => parseProgressLine(line, 8)?.fraction);
    assert.deepEqual(fractions, [1 / 9, 3 / 9, 4 / 9, 1]);
    assert.equal(parseProgressLine(lines[2]!, 8)?.stage, 'matching');
  });

  it('reads sequential matching image by image', () => {
    assert.deepEqual(parseProgressLine('Matching image [3/8] in 0.000s', 8), { stage: 'matching', fraction: 3 / 8, message: 'Matched image 3 of 8' });
  });

  it('reads registration counts out of the run total', () => {
    const updates = MAPPER.map((line) => parseProgressLine(line, 8)).filter((u) => u !== undefined);
    assert.deepEqual(
      updates.map((u) => [u.stage, u.fraction]),
      [
        ['mapping', 2 / 8],
        ['mapping', 3 / 8],
        ['mapping', 4 / 8],
      ],
    );
    assert.equal(updates[2]?.message, 'Registered 4 of 8 images');
  });

  it('names the images feature extraction could not read', () => {
    const checker = createExtractionChecker();
    for (const line of FEATURE_EXTRACTION) checker.feed(line);
    assert.deepEqual(checker.failures, [{ name: 'K.txt', reason: 'Failed to read image file format.' }]);
  });

  it('counts the largest registration, and an initial pair only once it survived', () => {
    const counter = createRegistrationCounter();
    for (const line of MAPPER) counter.feed(line);
    assert.equal(counter.best, 4);

    const failed = createRegistrationCounter();
    for (const line of ['Initializing with image pair #1 and #2', '  => Initialization failed - possible solutions:']) failed.feed(line);
    assert.equal(failed.best, 0);

    const pairOnly = createRegistrationCounter();
    for (const line of MAPPER.slice(0, 8)) pairOnly.feed(line);
    assert.equal(pairOnly.best, 2);
  });
});
