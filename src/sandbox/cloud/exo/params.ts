/**
 * What every InvokeCommand cmdlet shares: the cmdlet's shape, its bound parameters, and PowerShell's parameter
 * binding (names matched case-insensitively, the common parameters accepted and dropped, values converted as
 * PowerShell converts them, with its wording when they do not convert).
 */
import type { EmulatorContext } from '../context';
import { ExoError } from '../errors';

const COMMON_PARAMETERS = ['ErrorAction', 'WarningAction', 'InformationAction', 'Confirm', 'Verbose', 'Debug', 'WhatIf', 'Force'];
export const CUSTOM = Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`);

export type Params = Map<string, unknown>;

export interface CmdletResult {
  values: Record<string, unknown>[];
  warnings: string[];
}

/** What a cmdlet needs to know about the caller beyond its right to run the cmdlet (exo-authz.ts). */
export interface Caller {
  /** May use -BypassSecurityGroupManagerCheck. */
  mayBypassGroupManagerCheck: boolean;
}

export interface Cmdlet {
  parameters: string[];
  run(ctx: EmulatorContext, p: Params, caller: Caller): CmdletResult;
}

// ---------------------------------------------------------------------------------------------
// Parameter helpers
// ---------------------------------------------------------------------------------------------

export function bindParameters(spec: Cmdlet, raw: Record<string, unknown>): Params {
  const out: Params = new Map();
  for (const [k, v] of Object.entries(raw)) {
    const name = [...spec.parameters, ...COMMON_PARAMETERS].find((x) => x.toLowerCase() === k.toLowerCase());
    if (!name) throw new ExoError('ParameterBinding', `A parameter cannot be found that matches parameter name '${k}'.`);
    if (!COMMON_PARAMETERS.includes(name)) out.set(name, v);
  }
  return out;
}

export function str(p: Params, name: string): string | undefined {
  const v = p.get(name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ExoError('ParameterBinding', `Cannot bind parameter '${name}'. Cannot convert the value to type "System.String".`);
}

export function required(p: Params, name: string, cmdlet: string): string {
  const v = str(p, name);
  if (v === undefined || v.trim() === '') {
    throw new ExoError('ParameterBinding', `Cannot process command because of one or more missing mandatory parameters: ${name}. (${cmdlet})`);
  }
  return v;
}

export function bool(p: Params, name: string): boolean | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase().replace(/^\$/, '');
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw new ExoError(
    'ParameterBinding',
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${JSON.stringify(v)}" to type "System.Boolean".`,
  );
}

export function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String(x as string));
  return String(v as string)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** An enumeration value in its documented spelling, or PowerShell's conversion error for the parameter. */
export function enumValue(parameter: string, value: string, valid: readonly string[], type: string): string {
  const hit = valid.find((v) => v.toLowerCase() === value.trim().toLowerCase());
  if (hit) return hit;
  throw new ExoError(
    'ParameterBinding',
    `Cannot process argument transformation on parameter '${parameter}'. Cannot convert value "${value}" to type "${type}". Error: "Unable to match the identifier name ${value} to a valid enumerator name. Specify one of the following enumerator names and try again: ${valid.join(', ')}"`,
  );
}
