/**
 * The part of the import jobs (src/contacts/import_jobs.ts, owned by the import
 * work) that the console uses, declared structurally so the console builds on
 * the agreed interface whether or not that module is present yet: the server
 * hands the console the real `createImportJobs(...)` object.
 */

/** An import job's state. */
export type ImportJobState = "running" | "succeeded" | "failed";

/** What the console passes when it starts a job. */
export interface ImportJobOptions {
  readonly fileName: string;
  readonly dryRun: boolean;
  readonly region?: string;
  readonly encoding?: string;
  readonly idFrom?: string;
  readonly prune?: boolean;
  readonly strict?: boolean;
}

/** One import job as the console shows it. */
export interface ImportJob {
  readonly id: string;
  readonly fileName: string;
  readonly dryRun: boolean;
  readonly state: ImportJobState;
  readonly bytesTotal: number;
  readonly bytesRead: number;
  readonly rowsRead: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly summary: Record<string, unknown> | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly hasRejects: boolean;
}

/** The jobs the console submits, lists and follows. */
export interface ImportJobs {
  submit(body: ReadableStream<Uint8Array>, options: ImportJobOptions): Promise<ImportJob>;
  get(id: string): ImportJob | undefined;
  list(): readonly ImportJob[];
  rejectsCsv(id: string): ReadableStream<Uint8Array> | undefined;
  waitFor(id: string, ms: number): Promise<ImportJob | undefined>;
}
