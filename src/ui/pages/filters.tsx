/** The usage filters shared by the Usage and Requests pages, as a small form applied on submit. */
import { useState } from "preact/hooks";
import { Field, Select } from "../components/ui";

export interface UsageFilters {
  user_id?: string;
  api_key_id?: string;
  end_user_id?: string;
  model?: string;
  provider?: string;
  status?: "success" | "error";
}

const FIELDS: [keyof UsageFilters, string][] = [
  ["user_id", "User id"],
  ["api_key_id", "Key id"],
  ["end_user_id", "End user"],
  ["provider", "Provider"],
  ["model", "Model"],
];

/** Drops empty values (the API takes absent as "any"). */
export function clean(f: UsageFilters): UsageFilters {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v)) as UsageFilters;
}

/** Filters named in the page's query string (links from other pages). */
export function filtersFromUrl(): UsageFilters {
  const q = new URLSearchParams(location.search);
  return clean(
    Object.fromEntries(
      FIELDS.map(([k]) => [k, q.get(k) ?? undefined]).concat([["status", q.get("status") ?? undefined]]),
    ) as UsageFilters,
  );
}

export function FilterForm(props: { value: UsageFilters; onApply: (f: UsageFilters) => void }) {
  const [draft, setDraft] = useState<UsageFilters>(props.value);
  return (
    <form
      class="filters"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        props.onApply(clean(draft));
      }}
    >
      {FIELDS.map(([k, label]) => (
        <Field
          key={k}
          label={label}
          value={draft[k] ?? ""}
          onInput={(e) => setDraft({ ...draft, [k]: e.currentTarget.value.trim() })}
        />
      ))}
      <Select
        label="Status"
        value={draft.status ?? ""}
        options={[
          ["", "Any"],
          ["success", "Success"],
          ["error", "Error"],
        ]}
        onChange={(v) => setDraft({ ...draft, status: (v || undefined) as UsageFilters["status"] })}
      />
      <div class="filter-actions">
        <button type="submit" class="primary">
          Apply
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft({});
            props.onApply({});
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
