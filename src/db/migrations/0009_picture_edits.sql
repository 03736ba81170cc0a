-- Pan, zoom out and make square (outpaint) and Vary (Region) (inpaint) are kinds of request and
-- of picture of their own.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
  CHECK (kind IN ('txt2img', 'img2img', 'variation', 'upscale', 'outpaint', 'inpaint'));
ALTER TABLE images DROP CONSTRAINT images_kind_check;
ALTER TABLE images ADD CONSTRAINT images_kind_check
  CHECK (kind IN ('txt2img', 'img2img', 'variation', 'upscale', 'outpaint', 'inpaint', 'upload'));

-- The rectangle an edit works with, as "x,y,w,h" in pixels: for an outpaint where the source sits
-- on the new canvas, for an inpaint what is drawn again. With it a reroll repeats the same edit.
ALTER TABLE requests ADD COLUMN edit_area text CHECK (edit_area ~ '^\d{1,4},\d{1,4},\d{1,4},\d{1,4}$');
