/**
 * The method a limiter offers the pressure governor for its own rate moves.
 * `setRate()` is the operator's knob: it counts in `stats().adjustments` and
 * is reported to `onReconfigure` listeners. The governor moves the rate every
 * tick; counted there, its moves would bury the operator's changes (and flood
 * the dashboard's knob events), so a limiter that has this method takes the
 * governor's rate through it: the same change, not counted, not reported.
 * A registered symbol (`Symbol.for`), so two copies of the package still agree.
 */
export const governedSetRate: unique symbol = Symbol.for('sluice.governedSetRate') as never;

/** A limiter whose rate the governor can set without it counting as an operator change. */
export interface GovernedRateSettable {
  [governedSetRate](ratePerSecond: number): void;
}
