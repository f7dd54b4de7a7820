/**
 * Which props of a resource are Pulumi secrets. The real analyzer unwraps secrets before a rule
 * sees them, so a rule cannot tell; the offline runner knows (the planner records
 * `secretInputs`) and attaches it to the props object here, out of band, so the props a rule
 * reads stay exactly what the engine would pass.
 */
const secretInputs = new WeakMap<object, readonly string[]>();

export function markSecretInputs(props: object, names: readonly string[]): void {
  secretInputs.set(props, names);
}

/** Top-level prop names that are secrets, or undefined when unknown (under the real engine). */
export function secretInputsOf(props: object): readonly string[] | undefined {
  return secretInputs.get(props);
}
