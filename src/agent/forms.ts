// XEP-0004 data forms ⇄ plain objects. Field values are always string arrays: one shape for
// single and multi fields, so callers never guess.
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import { NS } from './ns.js';

export interface FormField {
  var: string;
  type?: string;
  values: string[];
}

export interface DataForm {
  type: string;
  formType?: string;
  fields: Map<string, string[]>;
  /** Declared field types (from forms the service hands out). */
  types: Map<string, string>;
}

/** A form of `type` with a hidden FORM_TYPE first (XEP-0068). */
export function buildForm(type: 'submit' | 'form' | 'result', formType: string, fields: FormField[]): Element {
  return xml('x', { xmlns: NS.DATA, type },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, formType)),
    ...fields.map((f) => xml('field', { var: f.var, ...(f.type ? { type: f.type } : {}) },
      ...f.values.map((v) => xml('value', {}, v)))));
}

export function parseForm(x: Element): DataForm {
  const fields = new Map<string, string[]>();
  const types = new Map<string, string>();
  for (const f of x.getChildren('field')) {
    const name = f.attrs.var;
    if (!name) continue;
    fields.set(name, f.getChildren('value').map((v) => v.getText()));
    if (f.attrs.type) types.set(name, f.attrs.type);
  }
  const formType = fields.get('FORM_TYPE')?.[0];
  fields.delete('FORM_TYPE');
  return { type: x.attrs.type ?? 'form', ...(formType !== undefined ? { formType } : {}), fields, types };
}

/** Every data form directly under `parent`, parsed. */
export function formsIn(parent: Element | undefined): DataForm[] {
  return parent ? parent.getChildren('x', NS.DATA).map(parseForm) : [];
}

/** The form with this FORM_TYPE directly under `parent`, if any. */
export function findForm(parent: Element | undefined, formType: string): DataForm | undefined {
  return formsIn(parent).find((f) => f.formType === formType);
}

export const first = (form: DataForm | undefined, name: string): string | undefined => form?.fields.get(name)?.[0];
