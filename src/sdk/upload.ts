/** A file to upload: a browser `File`, or any Blob with a name. */
export type UploadItem = File | { name: string; data: Blob };

export interface UploadProgress {
  /** Bytes of the request body sent so far. */
  loaded: number;
  /** Bytes of the whole request body. */
  total: number;
  /** Files completely sent. */
  filesDone: number;
  files: number;
  /** The file being sent now, if known. */
  current?: string;
}

export const itemName = (item: UploadItem) => item.name;
export const itemBlob = (item: UploadItem): Blob => ('data' in item ? item.data : item);

const MIME_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heic',
};

const contentType = (item: UploadItem) =>
  itemBlob(item).type || MIME_BY_EXTENSION[item.name.split('.').pop()?.toLowerCase() ?? ''] || 'application/octet-stream';

// As browsers encode names in multipart/form-data (HTML spec): quote, CR and LF percent-escaped.
const escapeName = (name: string) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/**
 * A multipart/form-data body (field `images`) that streams each file's Blob as it is sent and
 * counts the bytes, so the caller can show upload progress. Nothing is read into memory whole.
 */
export function multipartStream(items: UploadItem[], onProgress?: (progress: UploadProgress) => void) {
  const boundary = `----recon${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const encoder = new TextEncoder();
  const heads = items.map((item) =>
    encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="images"; filename="${escapeName(item.name)}"\r\n` +
        `Content-Type: ${contentType(item)}\r\n\r\n`,
    ),
  );
  const crlf = encoder.encode('\r\n');
  const tail = encoder.encode(`--${boundary}--\r\n`);
  const total = heads.reduce((sum, head, i) => sum + head.length + itemBlob(items[i]!).size + crlf.length, tail.length);

  let loaded = 0;
  let index = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const report = (filesDone: number) => {
    const current = items[index]?.name;
    onProgress?.({ loaded, total, filesDone, files: items.length, ...(current !== undefined && { current }) });
  };

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index >= items.length) {
        controller.enqueue(tail);
        loaded += tail.length;
        report(items.length);
        controller.close();
        return;
      }
      if (!reader) {
        reader = itemBlob(items[index]!).stream().getReader();
        controller.enqueue(heads[index]!);
        loaded += heads[index]!.length;
        return;
      }
      const { done, value } = await reader.read();
      if (!done) {
        controller.enqueue(value);
        loaded += value.length;
        report(index);
        return;
      }
      controller.enqueue(crlf);
      loaded += crlf.length;
      reader = undefined;
      index++;
      report(index);
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, total };
}

interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: unknown): void;
  abort(): void;
  readonly status: number;
  readonly responseText: string;
  upload: { onprogress: ((event: { loaded: number; total: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
type XhrConstructor = new () => XhrLike;
type FormDataLike = { append(name: string, value: Blob, fileName: string): void };

/** The browser's XMLHttpRequest, which (unlike fetch) reports upload progress everywhere. */
export const browserXhr = (): XhrConstructor | undefined => (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;

/** Uploads with XHR + FormData (browsers): returns the status and body text. */
export function xhrUpload(
  Xhr: XhrConstructor,
  url: string,
  headers: Record<string, string>,
  items: UploadItem[],
  options: { signal?: AbortSignal; onProgress?: (progress: UploadProgress) => void },
): Promise<{ status: number; text: string }> {
  const form = new FormData() as unknown as FormDataLike;
  for (const item of items) form.append('images', itemBlob(item), item.name);
  const sizes = items.map((item) => itemBlob(item).size);
  return new Promise((resolve, reject) => {
    const xhr = new Xhr();
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      // The browser counts multipart framing too; files done is estimated from the sizes.
      let filesDone = 0;
      for (let sum = 0; filesDone < sizes.length && sum + sizes[filesDone]! <= event.loaded; filesDone++) sum += sizes[filesDone]!;
      options.onProgress?.({ loaded: event.loaded, total: event.total, filesDone, files: items.length });
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new TypeError('network error during upload'));
    xhr.onabort = () => reject(options.signal?.reason ?? new DOMException('Upload aborted', 'AbortError'));
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
