/**
 * Every chat command and card verb Mailroom answers, in one table. Commands are matched in this order (the
 * first whose pattern matches the text runs); each lives in its own file in `commands/`, each card verb in
 * `card-actions/`. The handlers call only the workflow's use cases (`src/workflow/use-cases.ts`).
 */
import type { DoctorReport } from '../doctor';
import type { UseCases } from '../workflow/use-cases';
import { approveAction } from './card-actions/approve';
import { batchDecisionAction } from './card-actions/batch-decision';
import { batchFileAction } from './card-actions/batch-file';
import { batchPlanAction } from './card-actions/batch-plan';
import { bulkCheckAction } from './card-actions/bulk-check';
import { cancelAction } from './card-actions/cancel';
import { formAction } from './card-actions/form';
import { helpAction } from './card-actions/help';
import { keepAction } from './card-actions/keep';
import { rejectAction } from './card-actions/reject';
import { revealAction } from './card-actions/reveal';
import { retryAction } from './card-actions/retry';
import { rollbackAction } from './card-actions/rollback';
import { submitAction } from './card-actions/submit';
import { approvalsChannelCommand, approvalsHereCommand } from './commands/approvals-here';
import { approveCommand } from './commands/approve';
import { auditCommand } from './commands/audit';
import { batchDecisionCommand, batchPlanCommand, batchStatusCommand, exportBatchCommand, fileBatchCommand } from './commands/batches';
import { bulkCommand, bulkTemplateCommand } from './commands/bulk';
import { bulkFormCommand } from './commands/bulk-form';
import { cancelCommand } from './commands/cancel';
import { checkAuditCommand } from './commands/check-audit';
import { delegateCommand } from './commands/delegate';
import { doctorCommand } from './commands/doctor';
import { driftCommand } from './commands/drift';
import { exportAuditCommand } from './commands/export-audit';
import { findCommand } from './commands/find';
import { healthCommand } from './commands/health';
import { helpCommand } from './commands/help';
import { myApprovalsCommand } from './commands/my-approvals';
import { myRequestsCommand } from './commands/my-requests';
import { newCommand } from './commands/new';
import { newRequestCommand } from './commands/new-request';
import { reassignCommand } from './commands/reassign';
import { rejectCommand } from './commands/reject';
import { rollbackCommand } from './commands/rollback';
import { showCommand } from './commands/show';
import { statusCommand } from './commands/status';
import { sweepCommand } from './commands/sweep';
import { whoamiCommand } from './commands/whoami';
import type { HandlerDeps } from './handler-deps';
import type { MailroomBot } from './mailroom-bot';

/**
 * The handlers' dependencies; `useCases` is undefined when requests are off (then only help, whoami, health and
 * doctor, which says what is missing).
 */
export type RegistrationDeps = Omit<HandlerDeps, 'useCases'> & { readonly useCases: UseCases | undefined; readonly doctor: () => Promise<DoctorReport> };

export function registerHandlers(bot: MailroomBot, deps: RegistrationDeps): void {
  const everyCommand = () => bot.listCommands();
  bot.command(helpCommand(deps, everyCommand)).command(whoamiCommand(deps)).command(healthCommand(deps)).command(doctorCommand(deps));
  bot.cardAction(helpAction(deps, everyCommand));
  if (!deps.useCases) return;
  const d: HandlerDeps = { ...deps, useCases: deps.useCases };

  const commands = [
    newCommand(d),
    newRequestCommand(d),
    bulkTemplateCommand(d),
    bulkFormCommand(d),
    bulkCommand(d),
    fileBatchCommand(d),
    batchDecisionCommand(d, 'approve'),
    batchDecisionCommand(d, 'reject'),
    batchStatusCommand(d),
    batchPlanCommand(d),
    exportBatchCommand(d),
    statusCommand(d),
    showCommand(d),
    findCommand(d),
    myRequestsCommand(d),
    myApprovalsCommand(d),
    cancelCommand(d),
    rollbackCommand(d),
    approveCommand(d),
    rejectCommand(d),
    reassignCommand(d),
    delegateCommand(d),
    auditCommand(d),
    exportAuditCommand(d),
    checkAuditCommand(d),
    sweepCommand(d),
    driftCommand(d),
    approvalsHereCommand(d),
    approvalsChannelCommand(d),
  ];
  for (const c of commands) bot.command(c);

  const cardActions = [
    formAction(d), // request.form
    submitAction(d), // request.submit
    retryAction(d), // request.retry
    // request.reveal: no command matches it; the password reveal itself allows only the request's requester.
    { ...revealAction(d), name: 'reveal password', roles: 'anyone' as const },
    approveAction(d), // request.approve
    rejectAction(d), // request.reject
    rollbackAction(d), // request.rollback
    keepAction(d), // request.keep
    cancelAction(d), // request.cancel
    batchFileAction(d), // batch.file
    batchPlanAction(d), // batch.plan
    batchDecisionAction(d, 'approve'), // batch.approve
    batchDecisionAction(d, 'reject'), // batch.reject
    bulkCheckAction(d), // bulk.check
  ];
  for (const a of cardActions) bot.cardAction(a);
}
