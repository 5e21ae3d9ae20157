/**
 * Azure metrics (../shared/reference/azure-iot-edge-notes.md section 8) Outpost does not serve
 * yet, each with why. Azure's dashboards and its metrics-collector read whatever series exist and
 * do not need these present, so none is registered as a constant 0: a series that claims "never
 * offline" before an upstream link exists would be a false statement. docs/metrics.md lists them;
 * the reference test checks that every Azure name is served or listed here.
 */
export const NOT_SERVED: Readonly<Record<string, string>> = {
  edgehub_operation_retry_total: 'the upstream link retries whole connections (counted in edgehub_offline_count_total), not single operations as Azure counts them',
  edgeAgent_iothub_syncs_total: 'the agent reads its deployment locally; there is no IoT Hub twin to sync with yet',
  edgeAgent_unsuccessful_iothub_syncs_total: 'no IoT Hub twin sync yet',
  edgeAgent_deployment_time_seconds: 'no IoT Hub deployment yet (Azure times the twin sync of a new deployment)',
  edgeagent_direct_method_invocations_count: 'the agent\'s direct methods (ping, restartModule, …) come from IoT Hub; none yet (`outpost restart` uses the local control socket)',
  edgeAgent_used_cpu_percent: 'per-module CPU sampling (Docker stats, /proc) is not implemented yet',
  edgeAgent_created_pids_total: 'per-module figures from the container engine are not implemented yet',
  edgeAgent_total_network_in_bytes: 'per-module figures from the container engine are not implemented yet',
  edgeAgent_total_network_out_bytes: 'per-module figures from the container engine are not implemented yet',
  edgeAgent_total_disk_read_bytes: 'per-module figures from the container engine are not implemented yet',
  edgeAgent_total_disk_write_bytes: 'per-module figures from the container engine are not implemented yet',
};
