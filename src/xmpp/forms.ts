// XEP-0004 data forms ⇄ plain objects. Forms ignore fields they do not understand
// (XEP-0004 §3.1): parsing keeps every field, the caller picks what it knows.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { NS } from './ns.js';

export interface ParsedForm {
  type: string;
  formType: string | undefined;
  /** var → values, in document order. */
  fields: Map<string, string[]>;
}

export interface FieldSpec {
  var: string;
  type?: 'hidden' | 'text-single' | 'text-multi' | 'list-single' | 'list-multi' | 'boolean' | 'jid-single' | 'jid-multi' | 'fixed' | 'text-private';
  label?: string;
  values?: string[];
  options?: string[];
  required?: boolean;
}

export function parseForm(x: Element): ParsedForm {
  const fields = new Map<string, string[]>();
  for (const f of x.getChildren('field')) {
    const v = f.attrs.var;
    if (!v) continue;
    fields.set(v, f.getChildren('value').map((val) => val.getText()));
  }
  const formType = fields.get('FORM_TYPE')?.[0];
  return { type: x.attrs.type ?? '', formType, fields };
}

/** The first jabber:x:data child of `parent`, optionally with the given FORM_TYPE. */
export function findForm(parent: Element | undefined, formType?: string): ParsedForm | undefined {
  if (!parent) return undefined;
  for (const x of parent.getChildren('x', NS.DATA)) {
    const form = parseForm(x);
    if (!formType || form.formType === formType) return form;
  }
  return undefined;
}

export function buildForm(type: 'form' | 'result' | 'submit', formType: string | undefined, fields: FieldSpec[], extras: { title?: string; instructions?: string } = {}): Element {
  const children: Element[] = [];
  if (extras.title) children.push(xml('title', {}, extras.title));
  if (extras.instructions) children.push(xml('instructions', {}, extras.instructions));
  if (formType) children.push(field({ var: 'FORM_TYPE', type: 'hidden', values: [formType] }));
  for (const f of fields) children.push(field(f));
  return xml('x', { xmlns: NS.DATA, type }, ...children);
}

function field(f: FieldSpec): Element {
  return xml(
    'field',
    { var: f.var, type: f.type, label: f.label },
    f.required ? xml('required') : null,
    ...(f.options ?? []).map((o) => xml('option', {}, xml('value', {}, o))),
    ...(f.values ?? []).map((v) => xml('value', {}, v)),
  );
}
