/** Small building blocks shared by the pages: cards, messages, tables, dialogs, the copy button. */
import type { ComponentChildren, InputHTMLAttributes } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { errorMessage } from "../api";

export function Card(props: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <div class="card" data-testid={props.testId}>
      <div class="card-label">{props.label}</div>
      <div class="card-value">{props.value}</div>
      {props.hint && <div class="card-hint">{props.hint}</div>}
    </div>
  );
}

export function ErrorNote(props: { error: string | null }) {
  return props.error ? (
    <p class="error" role="alert">
      {props.error}
    </p>
  ) : null;
}

export function Loading(props: { when: boolean }) {
  return props.when ? (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  ) : null;
}

export interface Column<T> {
  title: string;
  cell: (row: T) => ComponentChildren;
  numeric?: boolean;
}

/** A box that scrolls sideways on narrow screens; it takes focus, so keyboards can scroll it too. */
export function ScrollBox(props: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be focusable (axe: scrollable-region-focusable)
    <section class="table-wrap" aria-label={props.label} tabIndex={0}>
      {props.children}
    </section>
  );
}

export function Table<T>(props: {
  caption: string;
  rows: T[];
  columns: Column<T>[];
  empty?: string;
  rowKey: (row: T) => string;
}) {
  return (
    <ScrollBox label={props.caption}>
      <table>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" class={c.numeric ? "num" : undefined} key={c.title}>
                {c.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={props.columns.length} class="muted">
                {props.empty ?? "Nothing yet."}
              </td>
            </tr>
          ) : (
            props.rows.map((row) => (
              <tr key={props.rowKey(row)}>
                {props.columns.map((c) => (
                  <td class={c.numeric ? "num" : undefined} key={c.title}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </ScrollBox>
  );
}

/** A modal dialog (the native <dialog>: focus is trapped and Escape closes it). */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={props.onClose} onCancel={props.onClose}>
      <div class="dialog-head">
        <h2 id={titleId}>{props.title}</h2>
        <button type="button" class="ghost" onClick={props.onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {props.open && props.children}
    </dialog>
  );
}

export function CopyButton(props: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(props.text);
          setDone(true);
          setTimeout(() => setDone(false), 2000);
        } catch {
          setDone(false);
        }
      }}
    >
      {done ? "Copied" : (props.label ?? "Copy")}
    </button>
  );
}

/**
 * A labelled input. The label alone is the accessible name (not the hint, which describes it), so assistive
 * technology and tests find the field by its label.
 */
export function Field(props: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const { label, hint, ...input } = props;
  const hintId = useId();
  return (
    <label class="field">
      <span>{label}</span>
      <input {...input} aria-label={label} aria-describedby={hint ? hintId : undefined} />
      {hint && (
        <small class="muted" id={hintId}>
          {hint}
        </small>
      )}
    </label>
  );
}

/** A form that hands itself to `onSubmit` and shows what that threw (the API's refusal) above its submit button. */
export function SubmitForm(props: {
  submit: string;
  onSubmit: (form: HTMLFormElement) => Promise<void>;
  children: ComponentChildren;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await props.onSubmit(e.currentTarget);
          setError(null);
        } catch (err) {
          setError(errorMessage(err));
        }
      }}
    >
      {props.children}
      <ErrorNote error={error} />
      <button type="submit" class="primary">
        {props.submit}
      </button>
    </form>
  );
}

/**
 * A labelled select: controlled (`onChange`) or submitted with its form (`name`). Named by its label alone, as Field
 * is (not by its hint or its chosen option).
 */
export function Select(props: {
  label: string;
  value: string;
  options: [string, string][];
  onChange?: (v: string) => void;
  name?: string;
  hint?: string;
}) {
  const hintId = useId();
  const onChange = props.onChange;
  return (
    <label class="field">
      <span>{props.label}</span>
      <select
        name={props.name}
        value={props.value}
        aria-label={props.label}
        aria-describedby={props.hint ? hintId : undefined}
        onChange={onChange && ((e) => onChange(e.currentTarget.value))}
      >
        {props.options.map(([v, text]) => (
          <option value={v} key={v}>
            {text}
          </option>
        ))}
      </select>
      {props.hint && (
        <small class="muted" id={hintId}>
          {props.hint}
        </small>
      )}
    </label>
  );
}

export function Badge(props: { tone: "ok" | "warn" | "bad" | "muted"; children: ComponentChildren }) {
  return <span class={`badge ${props.tone}`}>{props.children}</span>;
}
