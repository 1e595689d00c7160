// The saga pattern's workflows, as the bundle exports them.
export { orderSagaWorkflow, orderPlainWorkflow } from './order-workflow';
export { declarativeSagaWorkflow } from './declarative-workflow';
