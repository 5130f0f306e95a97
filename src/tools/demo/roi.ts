// The design notes' `calculate_backpressure_roi`, reimplemented formula for
// formula (names in camelCase). Its assumptions are the notes', not
// measurements: a crash costs one hour of messages, backpressure costs 10 % of
// the infrastructure bill and, unless the caller measured its own drop rate
// (`dropRateWithBp`), cuts drops by 90 %.

export interface RoiInputs {
  /** Steady message rate. The demo passes its fleet's base rate. */
  messagesPerSecond: number;
  /** Value of one message, in dollars. */
  messageValue: number;
  infraCostPerHour: number;
  /** Share of messages lost without backpressure. */
  dropRateWithoutBp: number;
  /** Crashes per hour without backpressure. */
  crashRatePerHourWithoutBp: number;
  /**
   * Share of messages lost with backpressure. The demo passes the share its
   * run dropped, so a strategy that drops more shows a smaller (or negative) benefit.
   * @default dropRateWithoutBp × 0.1 (the notes' assumption: 90 % fewer drops)
   */
  dropRateWithBp?: number;
}

export interface RoiResult {
  inputs: RoiInputs;
  dailyBenefit: number;
  annualBenefit: number;
  /** Messages a day no longer dropped; negative when backpressure drops more than the assumed rate without it. */
  droppedPrevention: number;
  /** Crashes a day avoided. */
  crashPrevention: number;
  /** `dailyBenefit / overhead cost × 100`, as the design notes define it. */
  roiPercentage: number;
}

export const defaultRoiInputs: Omit<RoiInputs, 'messagesPerSecond'> = {
  messageValue: 0.001,
  infraCostPerHour: 500,
  dropRateWithoutBp: 0.05,
  crashRatePerHourWithoutBp: 0.001,
};

export function calculateBackpressureRoi(inputs: RoiInputs): RoiResult {
  const { messagesPerSecond, messageValue, infraCostPerHour, dropRateWithoutBp, crashRatePerHourWithoutBp } = inputs;
  const messagesPerDay = messagesPerSecond * 86_400;
  // Without backpressure
  const droppedMessages = messagesPerDay * dropRateWithoutBp;
  const droppedValue = droppedMessages * messageValue;
  // Crash impact (the notes assume one hour of recovery)
  const crashesPerDay = crashRatePerHourWithoutBp * 24;
  const crashLostMessages = messagesPerSecond * 3600 * crashesPerDay;
  const crashLostValue = crashLostMessages * messageValue;
  // With backpressure: the measured rate, else the notes' 90 % fewer drops
  const bpDropRate = inputs.dropRateWithBp ?? dropRateWithoutBp * 0.1;
  const bpDroppedValue = messagesPerDay * bpDropRate * messageValue;
  // Costs: 10 % overhead
  const bpOverheadCost = infraCostPerHour * 24 * 0.1;
  const dailyBenefit = droppedValue + crashLostValue - (bpDroppedValue + bpOverheadCost);
  return {
    inputs: { ...inputs, dropRateWithBp: bpDropRate },
    dailyBenefit,
    annualBenefit: dailyBenefit * 365,
    droppedPrevention: messagesPerDay * (dropRateWithoutBp - bpDropRate),
    crashPrevention: crashesPerDay,
    roiPercentage: (dailyBenefit / bpOverheadCost) * 100,
  };
}
