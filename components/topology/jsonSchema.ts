/**
 * JSON Schema (draft-07, what yaml-language-server and most editors read) generated from the same
 * shapes the validator checks, so the schema an editor uses and the validator never disagree on
 * structure: types, required keys, unknown keys, enums, patterns, bounds. Rules between fields
 * (voting power per region, zones of a region, unique names) stay the validator's alone.
 */
import type { Shape } from "./shape";
import { NETWORK_SHAPE } from "./validate";

export type JsonSchema = { readonly [key: string]: unknown };

/** The schema of one shape. `null` counts as absent for optional keys, as in `checkShape`. */
export function shapeToJsonSchema(shape: Shape): JsonSchema {
  switch (shape.kind) {
    case "string":
      return {
        type: "string",
        ...(shape.enum ? { enum: [...shape.enum] } : {}),
        ...(shape.pattern ? { pattern: patternOf(shape.pattern) } : {}),
        ...(shape.hint ? { description: shape.hint } : {}),
      };
    case "integer":
      return {
        type: "integer",
        minimum: shape.min ?? -Number.MAX_SAFE_INTEGER,
        maximum: shape.max ?? Number.MAX_SAFE_INTEGER,
      };
    case "boolean":
      return { type: "boolean" };
    case "array":
      return {
        type: "array",
        items: shapeToJsonSchema(shape.items),
        ...(shape.minItems !== undefined ? { minItems: shape.minItems } : {}),
      };
    case "map":
      return { type: "object", additionalProperties: shapeToJsonSchema(shape.values) };
    case "object": {
      const entries = Object.entries(shape.fields);
      const required = entries.filter(([, f]) => f.required).map(([k]) => k);
      return {
        type: "object",
        properties: Object.fromEntries(
          entries.map(([k, f]) => {
            const inner = shapeToJsonSchema(f.shape);
            return [k, f.required ? inner : { anyOf: [inner, { type: "null" }] }];
          }),
        ),
        ...(required.length ? { required } : {}),
        additionalProperties: false,
      };
    }
  }
}

/** ECMA-262 source of a RegExp; flags have no JSON Schema form, so none may be used. */
function patternOf(re: RegExp): string {
  if (re.flags.replace(/[gy]/g, "") !== "")
    throw new Error(`pattern /${re.source}/${re.flags}: flags cannot be expressed in JSON Schema`);
  return re.source;
}

/** Where the published schema lives, relative to the project directory. */
export const NETWORK_SCHEMA_FILE = "stacks/network.schema.json";

/** The published schema of the network file (`stacks/network.schema.json`). */
export function networkJsonSchema(): JsonSchema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://drstack.dev/schemas/network.schema.json",
    title: "drstack network topology",
    description:
      "Sites, regions, zones, clouds, validators with voting power and recovery objectives, shared by every stack. Generated from the validator's shapes (components/topology/validate.ts) by `npm run schema`; see docs/topology.md. The validator also checks rules between fields that no schema expresses.",
    ...shapeToJsonSchema(NETWORK_SHAPE),
  };
}

/** The file's text: stable key order, two-space indent, trailing newline. */
export function networkJsonSchemaText(): string {
  return `${JSON.stringify(networkJsonSchema(), null, 2)}\n`;
}
