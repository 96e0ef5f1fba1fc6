/** The fleet page (served by the reference server at `/`): every device that syncs to it, and their panels. */
import './fleet-view.ts';
