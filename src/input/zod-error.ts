import type { z } from "zod";

/** One readable line for a zod failure: the path and what was expected. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "message"}: ${i.message}`)
    .join("; ");
}
