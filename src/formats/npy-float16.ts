/**
 * IEEE half precision <-> float32, bit-exact (NaN payloads included), working on the bit patterns
 * so no value passes through a JS number and gets canonicalised.
 */

let halfToFloat: Uint32Array | undefined;

function buildHalfToFloat(): Uint32Array {
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    let mantissa = h & 0x3ff;
    let bits: number;
    if (exponent === 0x1f) {
      bits = sign | 0x7f800000 | (mantissa << 13);
    } else if (exponent !== 0) {
      bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa === 0) {
      bits = sign;
    } else {
      // Subnormal half: normalise it, float32 has the range to represent it exactly.
      let e = 113;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        e--;
      }
      bits = sign | (e << 23) | ((mantissa & 0x3ff) << 13);
    }
    table[h] = bits >>> 0;
  }
  return table;
}

export function float16ToFloat32(halves: Uint16Array): Float32Array {
  halfToFloat ??= buildHalfToFloat();
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halfToFloat[halves[i]!]!;
  return new Float32Array(bits.buffer);
}

/** Rounds to nearest, ties to even, as numpy's npy_floatbits_to_halfbits does. */
function halfBits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = f & 0x7f800000;
  if (exponent >= 0x47800000) {
    const mantissa = f & 0x7fffff;
    if (exponent !== 0x7f800000 || mantissa === 0) return sign | 0x7c00;
    // NaN: keep the top payload bits, but never let it collapse into infinity.
    const nan = 0x7c00 | (mantissa >>> 13);
    return sign | (nan === 0x7c00 ? 0x7c01 : nan);
  }
  if (exponent <= 0x38000000) {
    if (exponent < 0x33000000) return sign;
    let significand = (0x800000 | (f & 0x7fffff)) >>> (113 - (exponent >>> 23));
    // The shift may have dropped up to 11 low bits; they still decide whether a tie is exact.
    if ((significand & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) significand += 0x1000;
    return sign + (significand >>> 13);
  }
  let significand = f & 0x7fffff;
  if ((significand & 0x3fff) !== 0x1000) significand += 0x1000;
  // A carry out of the significand correctly bumps the exponent (up to infinity).
  return sign + ((exponent - 0x38000000) >>> 13) + (significand >>> 13);
}

export function float32ToFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i]!);
  return out;
}
