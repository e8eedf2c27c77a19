// A deploy step in code instead of `herald schema push`: register what the new release defines
// before it starts, or stop the deploy with the report. See docs/schemas.md.
import {
  type CompatibilityMode,
  type ContractSource,
  createPostgresRegistry,
  formatIssues,
  type PostgresRegistryOptions,
  pushDefinitions,
} from 'herald';

// #region push
export async function pushContracts(
  definitions: readonly ContractSource[], // any defineEvent() definitions
  options: PostgresRegistryOptions & { mode?: CompatibilityMode; log?: (line: string) => void } = {},
): Promise<boolean> {
  const { mode = 'BACKWARD', log = console.error, ...where } = options;
  const registry = createPostgresRegistry(where); // DATABASE_URL and HERALD_SCHEMA by default
  try {
    const reports = await pushDefinitions(registry, definitions, mode);
    for (const r of reports.filter((r) => !r.compatible)) {
      log(`${r.subject} (${r.mode}):\n  ${formatIssues(r.issues).join('\n  ')}`);
    }
    return reports.every((r) => r.compatible);
  } finally {
    await registry.close?.();
  }
}
// #endregion push
