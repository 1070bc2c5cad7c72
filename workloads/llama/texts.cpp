#include "workloads/llama/texts.hpp"

#include "io/error.hpp"
#include "workloads/llama/checkpoint.hpp"

namespace nqkv::llama {

const std::string& builtin_kvstats_text() {
  static const std::string t =
      "Once upon a time, there was a small dog named Max. Max lived in a little house with a red door. "
      "Every morning, Max ran to the window to look at the birds in the big tree. He liked to bark at them, "
      "but the birds were not scared. They sang their happy songs and flew around the tree.\n"
      "One day, Max saw a little bird on the ground. The bird could not fly because it had hurt its wing. "
      "Max walked up to the bird very slowly. \"Do not be afraid,\" said Max. \"I want to help you.\" "
      "The bird looked at Max and said, \"Thank you, Max. You are very kind.\"\n"
      "Max went to find his friend, a girl named Sue. Sue was good at helping animals. She put the bird in a soft "
      "box with a warm blanket. She gave it some water and some seeds. Every day, Max and Sue sat next to the box "
      "and talked to the bird. After a few days, the bird felt better. It flapped its wings and flew up into the "
      "sky. Max wagged his tail and Sue clapped her hands.\n"
      "The next morning, the bird came back to the big tree with all of its friends. They sang the most beautiful "
      "song Max had ever heard. Max did not bark at the birds anymore. He knew they were his friends now, and he "
      "was happy.\n";
  return t;
}

const std::string& builtin_eval_text() {
  static const std::string t =
      "Tim and his mom went to the store to buy some food. Tim liked the store because it had many colors. "
      "He saw red apples, yellow bananas and green pears. \"Can we buy some apples?\" Tim asked. His mom smiled "
      "and said, \"Yes, we can buy apples. They are good for you.\"\n"
      "When they came home, Tim wanted to help his mom make a pie. He washed the apples and his mom cut them. "
      "Then they put the apples in a big bowl with sugar. Tim mixed it with a spoon. It was fun, but it made a "
      "mess on the table. Tim was sad. \"I am sorry, Mom,\" he said. His mom gave him a hug and said, \"It is "
      "okay, Tim. We can clean it up together.\"\n"
      "They put the pie in the oven and waited. The house smelled sweet and warm. When the pie was ready, they "
      "sat at the table and ate it with a cold glass of milk. Tim said it was the best pie in the whole world.\n"
      "After dinner, Tim went outside to play with his ball. He kicked the ball very high and it went over the "
      "fence. A little girl named Amy found the ball in her yard. She threw it back to Tim and said, \"Do you want "
      "to play with me?\" Tim said yes, and they played together until the sun went down. They became good "
      "friends, and they played together every day after that.\n";
  return t;
}

std::vector<std::vector<int>> split_windows(const std::vector<int>& tokens, int seq_len, int bos) {
  std::vector<std::vector<int>> w;
  const size_t per = static_cast<size_t>(std::max(1, seq_len - 1));
  for (size_t i = 0; i < tokens.size(); i += per) {
    std::vector<int> win{bos};
    win.insert(win.end(), tokens.begin() + i, tokens.begin() + std::min(tokens.size(), i + per));
    w.push_back(std::move(win));
  }
  return w;
}

std::string read_text_file(const std::string& path) {
  const std::vector<uint8_t> b = read_file_bytes(path);
  if (b.empty()) throw InputError(path + ": empty text file");
  return std::string(b.begin(), b.end());
}

}  // namespace nqkv::llama
