export * from './types.js';
export { HypervisorError, type HypervisorErrorCode } from './errors.js';
export { planCbt, CHECKPOINT_PREFIX, type CbtFacts, type CbtPlan, type Repair } from './cbt-plan.js';
export { LibvirtConnector, type LibvirtConnectorOptions } from './libvirt/connector.js';
export { connectionUri } from './libvirt/uri.js';
export { Virsh } from './libvirt/virsh.js';
export { runJanitor, type JanitorAction } from './janitor.js';
export { DEFAULT_WORK_DIR, findStaleJobs, scratchLeftovers } from './work-dir.js';
export { parseDomainXml, type DomainDisk, type DomainInfo } from './libvirt/domain-xml.js';
export { rewriteDomainXml, type DomainRewrite, type RewrittenDomain } from './libvirt/domain-rewrite.js';
export { nbdBackingJson } from './libvirt/instant.js';
export { RESTORED_SOCKET_ROOT } from './libvirt/restored-vm.js';
export { RESTORED_QCOW2_CLUSTER_BYTES } from './libvirt/pools.js';
export {
  GuestAgentFiles,
  keepBothName,
  agentChunks,
  parseProcMounts,
  AGENT_CHUNK,
  type GuestFileMeta,
  type GuestMountOf,
} from './libvirt/guest-agent-files.js';
