/**
 * The most items one batch call takes (docs/ca.md, "Batch issuance"); more is a 413-free 400.
 * Its own module so the CLI's `cert` commands can name it in their help without loading the
 * issuance code (docs/cli.md, "Start-up time").
 */
export const MAX_BATCH = 1_000;
