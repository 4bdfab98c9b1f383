/** The performance model (docs/perf.md): predicted cycles of compiled programs, calibrated against the RTL. */
export { accelSimOptions, beatsPerCycle, HARNESS_DEFAULT_TIMING, hbmPeakBytesPerSecond, MEMORY_CHANNELS, memoryTiming, type ChannelCharacteristics, type MemoryTiming, type SpaceTiming } from './memory.ts';
export { ldTiming, stTiming, XFER_TIMING, type LdWhatIf, type XferResult } from './xfer.ts';
export { EngineModel, type EngineName, type InstrCost } from './engines.ts';
export { DISPATCH_TIMING, schedule, type ClassTotals, type ScheduleOptions, type ScheduleResult } from './schedule.ts';
export { decodeHbmBytes, meanDecodeHbmBytes, PerfModel, samplePositions, type PhaseResult } from './model.ts';
export { DECODE_TARGET, formatPerfReport, perfReport, type PerfInput, type PerfReport } from './report.ts';
