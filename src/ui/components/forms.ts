/** Reading form fields into API inputs: empty means "not set". */
export function text(form: HTMLFormElement, name: string): string | null {
  const v = (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value.trim() ?? "";
  return v === "" ? null : v;
}

export function int(form: HTMLFormElement, name: string): number | null {
  const v = text(form, name);
  return v === null ? null : Number.parseInt(v, 10);
}

export function num(form: HTMLFormElement, name: string): number | null {
  const v = text(form, name);
  return v === null ? null : Number(v);
}

export function checked(form: HTMLFormElement, name: string): boolean {
  return (form.elements.namedItem(name) as HTMLInputElement | null)?.checked ?? false;
}

/** A comma-separated list, or null when empty. */
export function list(form: HTMLFormElement, name: string): string[] | null {
  const v = text(form, name);
  return v === null
    ? null
    : v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/** A datetime-local field as an ISO string in UTC. */
export function dateTime(form: HTMLFormElement, name: string): string | null {
  const v = text(form, name);
  return v === null ? null : new Date(v).toISOString();
}

/** An ISO time as a datetime-local value (local time, minutes). */
export function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/**
 * A reference select (a budget, a team) in an edit form: undefined when unchanged, since re-assigning a budget starts
 * a new window; "" removes it.
 */
export function refChange(form: HTMLFormElement, name: string, initial: string | null): string | undefined {
  const v = text(form, name) ?? "";
  return v === (initial ?? "") ? undefined : v;
}
