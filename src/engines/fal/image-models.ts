/**
 * The fal image endpoints a blueprint can generate with. Mask inpainting paints inside our own
 * mask, so the label is that mask; mask-free editing changes the photo as the prompt says, and
 * the label is found from the difference to the original.
 */
export type ImageModelKind = 'inpaint' | 'edit';

export interface ImageModelInput {
  prompt: string;
  imageUrl: string;
  /** Required by inpainting models. */
  maskUrl?: string;
  /** Always sent, below 2^53, and stored, so a generation can be repeated. */
  seed: number;
}

export interface ImageModel {
  kind: ImageModelKind;
  label: string;
  /** The request body, in the endpoint's own field names; PNG asked for where supported, so pixels compare exactly. */
  input(input: ImageModelInput): Record<string, unknown>;
}

const inpaint = (label: string): ImageModel => ({
  kind: 'inpaint',
  label,
  input: ({ prompt, imageUrl, maskUrl, seed }) => ({ prompt, image_url: imageUrl, mask_url: maskUrl, seed, num_images: 1, output_format: 'png' }),
});

export const IMAGE_MODELS: Record<string, ImageModel> = {
  'fal-ai/flux-pro/v1/fill': inpaint('FLUX.1 Pro Fill (mask inpainting)'),
  'fal-ai/flux-lora-fill': inpaint('FLUX.1 LoRA Fill (mask inpainting)'),
  'fal-ai/flux-general/inpainting': inpaint('FLUX.1 General inpainting'),
  'fal-ai/flux-pro/kontext': {
    kind: 'edit',
    label: 'FLUX.1 Kontext Pro (edit, no mask)',
    input: ({ prompt, imageUrl, seed }) => ({ prompt, image_url: imageUrl, seed, num_images: 1, output_format: 'png' }),
  },
  'fal-ai/nano-banana/edit': {
    kind: 'edit',
    label: 'Nano Banana edit (no mask)',
    input: ({ prompt, imageUrl, seed }) => ({ prompt, image_urls: [imageUrl], seed, num_images: 1, output_format: 'png' }),
  },
};

export const DEFAULT_IMAGE_MODEL = 'fal-ai/flux-pro/v1/fill';

/** The first image of a fal image output (`{images: [{url, width, height, content_type}], seed}`). */
export function firstImage(output: unknown): { url: string; width?: number; height?: number; contentType?: string } | undefined {
  const images = (output as { images?: unknown })?.images;
  const first = Array.isArray(images) ? (images[0] as Record<string, unknown> | undefined) : undefined;
  if (!first || typeof first.url !== 'string') return undefined;
  return {
    url: first.url,
    ...(typeof first.width === 'number' && { width: first.width }),
    ...(typeof first.height === 'number' && { height: first.height }),
    ...(typeof first.content_type === 'string' && { contentType: first.content_type }),
  };
}
