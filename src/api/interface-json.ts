/** Interface counters under the snake_case names Docker's and cAdvisor's JSON share, in their order. */
import type { NetInterfaceStats } from '../kernel/types.js';

export interface InterfaceCountersJson {
  rx_bytes: bigint;
  rx_packets: bigint;
  rx_errors: bigint;
  rx_dropped: bigint;
  tx_bytes: bigint;
  tx_packets: bigint;
  tx_errors: bigint;
  tx_dropped: bigint;
}

export function interfaceCounters(i: NetInterfaceStats): InterfaceCountersJson {
  return {
    rx_bytes: i.rxBytes,
    rx_packets: i.rxPackets,
    rx_errors: i.rxErrors,
    rx_dropped: i.rxDropped,
    tx_bytes: i.txBytes,
    tx_packets: i.txPackets,
    tx_errors: i.txErrors,
    tx_dropped: i.txDropped,
  };
}
