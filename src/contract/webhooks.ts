import { z } from 'zod';
import { resourceId } from './resource-id.ts';

export const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  disabled: z.boolean(),
  disabledReason: z.string().nullable(),
  createdAt: z.string(),
});
export const withSecret = endpointView.extend({ secret: z.string().describe('whsec_… signing secret (Standard Webhooks); shown here and on rotation') });
export const idParams = z.object({ id: resourceId('Webhook endpoint id') });
export const deliveryView = z.object({
  id: z.string().describe('Also the webhook-id header, the same on every attempt'),
  endpointId: z.string().nullable().describe("null for a run's own webhookUrl"),
  url: z.string(),
  eventType: z.string(),
  runId: z.string().nullable(),
  batchId: z.string().nullable(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  attemptLog: z.array(z.object({ at: z.string(), statusCode: z.number().nullable(), durationMs: z.number(), error: z.string().nullable() })),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
