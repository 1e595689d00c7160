// An activity's "no" that is a business outcome, not a failure: an identity already registered, a
// ledger change refused. Category BENIGN tells Temporal not to log it as an error nor count it as a
// failed activity, and the backend guard counts it as `refused`, not among the driver errors.
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';

/** A non-retryable `ApplicationFailure` of `type`, category BENIGN. */
export function refusal(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });
}
