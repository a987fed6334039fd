import { z } from 'zod';

/**
 * A resource id in a path. Any id that names no resource the caller can see answers 404 with the
 * resource's NOT_FOUND code, whatever its shape: a malformed id is just one more id that does not
 * exist, as another key's resources are. (Only a NUL character is refused, with 400.)
 */
export const resourceId = (description: string) => z.string().min(1).describe(`${description}; any other id answers 404`);
