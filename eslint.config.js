// ESLint 9 flat config: @eslint/js recommended + typescript-eslint recommended (syntactic rules only: no type
// information, so it stays fast). Formatting is prettier's job (`pnpm format`), so no stylistic rules here.
import js from "@eslint/js"
import globals from "globals"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "docs/api/**", "**/.turbo/**", "out/**", "packages/tiny-models/models/**", "**/*.d.ts"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // the code base marks deliberately unused parameters and destructured leftovers with a leading underscore
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // tests and the conformance runner read arbitrary JSON reference cases
    files: ["**/*.test.ts", "apps/conformance/**", "packages/schedulers/src/testing.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // constants transcribed digit for digit from their sources (Lanczos coefficients, avx_mathfun/cephes);
    // the float64 value they round to is the one the reference uses
    files: ["packages/schedulers/src/internal/beta-ppf.ts", "packages/tensor/src/random/avx-mathfun.ts", "packages/ip-adapter/src/internal/dense-math.ts"],
    rules: { "no-loss-of-precision": "off" },
  },
  {
    // Python's str.isspace() set includes the control characters \x1c-\x1f on purpose
    files: ["packages/tokenizers/src/text-preprocessing.ts"],
    rules: { "no-control-regex": "off" },
  },
)
