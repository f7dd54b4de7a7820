/**
 * Reading the Pulumi project and its stack files as the Pulumi CLI does: `Pulumi.yaml`
 * (typed project config with defaults, `stackConfigDir`) and `Pulumi.<stack>.yaml`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, Problems } from "../components/topology/errors";
import { parseYaml, withLines } from "../components/topology/load";
import { isPlainObject, suggest } from "../components/topology/shape";

export interface ProjectConfigDecl {
  readonly type?: string;
  readonly default?: unknown;
  readonly secret?: boolean;
}

export interface Project {
  readonly dir: string;
  readonly name: string;
  readonly stackConfigDir: string;
  readonly config: Readonly<Record<string, ProjectConfigDecl>>;
}

export interface StackConfig {
  readonly stack: string;
  /** Path relative to the project directory, for messages. */
  readonly file: string;
  /** Flat Pulumi config map, `namespace:key` to string (objects as JSON), defaults applied. */
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

export function readProject(dir: string): Project {
  const file = path.join(dir, "Pulumi.yaml");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new ConfigError([
      {
        file: "Pulumi.yaml",
        path: "",
        message: `no Pulumi project in ${dir}`,
        fix: "run drstack from the project directory or pass --project DIR",
      },
    ]);
  }
  const doc = parseYaml(text, "Pulumi.yaml").value;
  if (!isPlainObject(doc) || typeof doc.name !== "string") {
    throw new ConfigError([
      { file: "Pulumi.yaml", path: "name", message: "project name is missing" },
    ]);
  }
  const config: Record<string, ProjectConfigDecl> = {};
  if (isPlainObject(doc.config)) {
    for (const [k, v] of Object.entries(doc.config))
      config[k] = isPlainObject(v) ? (v as ProjectConfigDecl) : { default: v };
  }
  return {
    dir,
    name: doc.name,
    stackConfigDir: typeof doc.stackConfigDir === "string" ? doc.stackConfigDir : ".",
    config,
  };
}

/** Stack names that have a `Pulumi.<stack>.yaml` in the stack config directory, sorted. */
export function listStacks(project: Project): string[] {
  const dir = path.join(project.dir, project.stackConfigDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

function stackFile(project: Project, stack: string): string {
  for (const ext of ["yaml", "yml"]) {
    const rel = path.join(project.stackConfigDir, `Pulumi.${stack}.${ext}`);
    if (fs.existsSync(path.join(project.dir, rel))) return rel;
  }
  return path.join(project.stackConfigDir, `Pulumi.${stack}.yaml`);
}

/** The flat config a stack's program would see, with project defaults applied and types checked. */
export function readStackConfig(project: Project, stack: string): StackConfig {
  const rel = stackFile(project, stack);
  const abs = path.join(project.dir, rel);
  if (!fs.existsSync(abs)) {
    const known = listStacks(project);
    const guess = suggest(stack, known);
    throw new ConfigError([
      {
        file: rel,
        path: "",
        message: `no stack ${JSON.stringify(stack)}`,
        fix: known.length
          ? `${guess ? `did you mean ${guess}? ` : ""}use one of: ${known.join(", ")}`
          : `create ${rel}`,
      },
    ]);
  }
  const parsed = parseYaml(fs.readFileSync(abs, "utf8"), rel);
  const problems = new Problems(rel);
  const doc = parsed.value ?? {};
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  if (!isPlainObject(doc)) {
    problems.add("", "a stack file must be a mapping with a config key");
  } else {
    const raw = doc.config ?? {};
    if (!isPlainObject(raw)) problems.add("config", "must be a mapping of namespace:key to value");
    else {
      for (const [k, v] of Object.entries(raw)) {
        const key = k.includes(":") ? k : `${project.name}:${k}`;
        if (isPlainObject(v) && typeof v.secure === "string" && Object.keys(v).length === 1) {
          // Encrypted with the stack's secrets provider: unreadable offline, kept secret.
          config[key] = `offline-secret:${key}`;
          secretKeys.push(key);
          continue;
        }
        if (v === null || v === undefined) {
          problems.add(`config.${k}`, "has no value", "give it a value or remove the key");
          continue;
        }
        config[key] = typeof v === "string" ? v : JSON.stringify(v);
        checkDeclaredType(project, key, v, `config.${k}`, problems);
      }
    }
  }
  if (problems.size > 0)
    throw new ConfigError(withLines(problems.list, parsed), `${rel} is invalid`);
  return { stack, file: rel, config: withDefaults(project, config), secretKeys };
}

/** Adds the defaults declared in Pulumi.yaml for keys the stack does not set. */
export function withDefaults(
  project: Project,
  config: Record<string, string>,
): Record<string, string> {
  const out = { ...config };
  for (const [k, decl] of Object.entries(project.config)) {
    const key = k.includes(":") ? k : `${project.name}:${k}`;
    if (out[key] === undefined && decl.default !== undefined)
      out[key] = typeof decl.default === "string" ? decl.default : JSON.stringify(decl.default);
  }
  return out;
}

function checkDeclaredType(
  project: Project,
  key: string,
  value: unknown,
  at: string,
  problems: Problems,
): void {
  const short = key.startsWith(`${project.name}:`) ? key.slice(project.name.length + 1) : key;
  const decl = project.config[short] ?? project.config[key];
  if (!decl?.type) return;
  const ok =
    (decl.type === "string" && typeof value === "string") ||
    (decl.type === "integer" && Number.isInteger(value)) ||
    (decl.type === "boolean" && typeof value === "boolean") ||
    (decl.type === "array" && Array.isArray(value));
  if (!ok)
    problems.add(
      at,
      `must be of type ${decl.type} (declared in Pulumi.yaml), got ${JSON.stringify(value)}`,
    );
}
