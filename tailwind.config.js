/** @type {import('tailwindcss').Config} */

// Tenant branding: the layout may override the CSS variables on <html>, e.g.
// style="--brand-rgb: 22 163 74; --brand-contrast-rgb: 255 255 255". Values
// are space-separated R G B channels so opacity modifiers work (bg-brand/10).
// Defaults live in static/src/app.css.
const channels = (name) => `rgb(var(${name}) / <alpha-value>)`;

module.exports = {
  content: [
    './views/**/*.templ',
    './views/**/*.go',
    './handlers/**/*.go',
    './static/js/app.js',
  ],
  // Component classes from static/src/app.css are always emitted, even when
  // no view uses them yet, so the server's templates can rely on them.
  safelist: [
    'btn', 'btn-primary', 'btn-secondary', 'btn-danger',
    'input', 'label', 'field-error', 'input-error',
    'card', 'badge', 'badge-green', 'badge-red', 'badge-gray', 'badge-yellow', 'badge-violet',
    'table', 'nav-link', 'nav-link-active',
    'alert', 'alert-error', 'alert-info',
    'skip-link',
  ],
  theme: {
    extend: {
      colors: {
        brand: {
          DEFAULT: channels('--brand-rgb'),
          // Text/icon colour on a solid brand background.
          contrast: channels('--brand-contrast-rgb'),
        },
      },
      fontFamily: {
        sans: [
          'system-ui', '-apple-system', '"Segoe UI"', 'Roboto',
          '"Helvetica Neue"', 'Arial', '"Noto Sans"', 'sans-serif',
          '"Apple Color Emoji"', '"Segoe UI Emoji"', '"Segoe UI Symbol"',
        ],
        mono: [
          'ui-monospace', 'SFMono-Regular', 'Menlo', 'Monaco', 'Consolas',
          '"Liberation Mono"', '"Courier New"', 'monospace',
        ],
      },
    },
  },
  plugins: [],
};
