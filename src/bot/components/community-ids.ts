/**
 * custom_ids of the community buttons and modals on a result (vote, remix, family, delete). Like
 * the generation ids they only name a job or an image, are parsed strictly, and every handler
 * re-reads what they name from the store.
 */
export const communityButtonActions = ['vote', 'remix', 'family', 'delete'] as const;
export type CommunityButtonAction = (typeof communityButtonActions)[number];

export type CommunityId =
  | { kind: 'button'; action: CommunityButtonAction; jobId: string }
  /** The remix modal opened from a result's 🔀 button: the picture number is asked in the modal. */
  | { kind: 'remix-job'; jobId: string }
  /** The remix modal opened from "Remix this image" on a message: the picture is already known. */
  | { kind: 'remix-image'; imageId: string }
  /** The remix modal opened on a member's own picture: it is read from the message once the form is sent. */
  | { kind: 'remix-upload'; messageId: string; attachmentId: string };

export const communityButtonId = (action: CommunityButtonAction, jobId: string) => `img:${action}:${jobId}`;
export const remixJobModalId = (jobId: string) => `img:remixjob:${jobId}`;
export const remixImageModalId = (imageId: string) => `img:remiximage:${imageId}`;
export const remixUploadModalId = (messageId: string, attachmentId: string) => `img:remixupload:${messageId}:${attachmentId}`;

/** Atelier's images are `<job>-<n>`; members' uploads are `upload-<attachment id>`. */
export const imageIdPattern = /^(?:\d{15,20}-[1-4]|upload-\d{15,20})$/;

const buttonPattern = /^img:(vote|remix|family|delete|remixjob):(\d{15,20})$/;
const imagePattern = /^img:remiximage:(.+)$/;
const uploadPattern = /^img:remixupload:(\d{15,20}):(\d{15,20})$/;

export function parseCommunityId(customId: string): CommunityId | undefined {
  const button = buttonPattern.exec(customId);
  if (button) {
    const [, action, jobId] = button as unknown as [string, CommunityButtonAction | 'remixjob', string];
    return action === 'remixjob' ? { kind: 'remix-job', jobId } : { kind: 'button', action, jobId };
  }
  const image = imagePattern.exec(customId);
  if (image && imageIdPattern.test(image[1]!)) return { kind: 'remix-image', imageId: image[1]! };
  const upload = uploadPattern.exec(customId);
  if (upload) return { kind: 'remix-upload', messageId: upload[1]!, attachmentId: upload[2]! };
  return undefined;
}
