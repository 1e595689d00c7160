// Search attributes every pattern execution carries, so the UI can list them by pattern and
// status. Registered by scripts/stack when it starts the dev server.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const PRISM_PATTERN = defineSearchAttributeKey('PrismPattern', SearchAttributeType.KEYWORD);
export const PRISM_STATUS = defineSearchAttributeKey('PrismStatus', SearchAttributeType.KEYWORD);
export const PRISM_PROGRESS = defineSearchAttributeKey('PrismProgress', SearchAttributeType.INT);
