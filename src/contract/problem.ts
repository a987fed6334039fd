import { z } from 'zod';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string().describe('What was wrong, and what to do about it'),
    code: z.string().describe("Stable code to branch on (README, 'Errors'); never reused for another meaning"),
  })
  .catchall(z.unknown())
  .describe('RFC 9457 problem details');

/** Response schemas for the problem statuses a route may answer with. */
export const problems = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, problemSchema]));
