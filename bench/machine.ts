import { readFile } from 'node:fs/promises';
import os from 'node:os';

export interface MachineInfo {
  readonly hostname: string;
  readonly cpuModel: string;
  /** Logical CPUs this process may use. */
  readonly threads: number;
  /** Physical cores as /proc/cpuinfo reports them (a VM often shows every vCPU as a core). */
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly ffmpeg: string;
}

/** Physical core count from /proc/cpuinfo (`physical id` + `core id` pairs); falls back to the thread count. */
export function physicalCores(cpuinfo: string, fallback: number): number {
  const pairs = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const phys = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (phys !== undefined && core !== undefined) pairs.add(`${phys}:${core}`);
  }
  return pairs.size > 0 ? Math.min(pairs.size, fallback) : fallback;
}

export async function machineInfo(ffmpegVersion: string): Promise<MachineInfo> {
  const threads = os.availableParallelism();
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return {
    hostname: os.hostname(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    threads,
    cores: physicalCores(cpuinfo, threads),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    ffmpeg: ffmpegVersion,
  };
}
