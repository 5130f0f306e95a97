// Seed 001's `calculate_backpressure_roi`, reimplemented formula for formula
// (names in camelCase). Its assumptions are the seed's, not measurements:
// a crash costs one hour of messages, backpressure cuts drops by 90 % and
// costs 10 % of the infrastructure bill.

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
}

export interface RoiResult {
  inputs: RoiInputs;
  dailyBenefit: number;
  annualBenefit: number;
  /** Messages a day no longer dropped. */
  droppedPrevention: number;
  /** Crashes a day avoided. */
  crashPrevention: number;
  /** `dailyBenefit / overhead cost × 100`, as the seed defines it. */
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
  // Crash impact (the seed assumes one hour of recovery)
  const crashesPerDay = crashRatePerHourWithoutBp * 24;
  const crashLostMessages = messagesPerSecond * 3600 * crashesPerDay;
  const crashLostValue = crashLostMessages * messageValue;
  // With backpressure: 90 % fewer drops
  const bpDropRate = dropRateWithoutBp * 0.1;
  const bpDroppedValue = messagesPerDay * bpDropRate * messageValue;
  // Costs: 10 % overhead
  const bpOverheadCost = infraCostPerHour * 24 * 0.1;
  const dailyBenefit = droppedValue + crashLostValue - (bpDroppedValue + bpOverheadCost);
  return {
    inputs: { ...inputs },
    dailyBenefit,
    annualBenefit: dailyBenefit * 365,
    droppedPrevention: droppedMessages * 0.9,
    crashPrevention: crashesPerDay,
    roiPercentage: (dailyBenefit / bpOverheadCost) * 100,
  };
}
